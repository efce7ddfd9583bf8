"""What ``make run`` seeds for the embedded sandbox's demo (``manage.py prepare_demo``): the
policies worth seeing, a little history, and a clean start after a restart. Never used with a
real Trigger.dev."""
