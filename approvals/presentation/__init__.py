"""How upstream values are shown to a reviewer: JSON as a key/value tree (``payload``) and a
task's Markdown summary as sanitised HTML (``markdown``). No Django models here, only text in
and plain values (or one vetted ``SafeString``) out."""
