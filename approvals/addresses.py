"""Comparing who asked for a run (the announcement's ``requestedBy``) with who is deciding.

The self-approval rule matches ``requestedBy`` with the reviewer's email or username. Task
authors write that text, so the same person arrives in many shapes: ``Rev Iewer
<rev@example.com>``, ``mailto:rev@example.com``, ``REV@example.com``, with a zero-width space,
or with a full-width ``＠``. ``normalize`` brings each to one comparable form
(docs/hardening.md, "Requesters").
"""

from __future__ import annotations

import re
import unicodedata
from email.utils import parseaddr

# A bare username, as SSO providers and Django make them.
_USERNAME = re.compile(r"[\w.+-]+")
_LOCAL_AND_DOMAIN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+|[^@\s]+@[^@\s.]+")


def _without_invisibles(text: str) -> str:
    # Cf: zero-width spaces and joiners, bidi controls, the soft hyphen, the BOM; Cc: controls.
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc"))


def clean(text: str) -> str:
    """Compatibility forms folded (``＠`` is ``@``), invisible characters dropped, case folded."""
    return _without_invisibles(unicodedata.normalize("NFKC", text)).strip().casefold()


def normalize(text: str | None) -> str | None:
    """The address (or username) ``text`` names, in comparable form; ``None`` when it names
    nobody we can tell (empty, or not parseable as an address or a username)."""
    if not text:
        return None
    cleaned = clean(text)
    if cleaned.startswith("mailto:"):
        cleaned = cleaned[len("mailto:") :].split("?", 1)[0]
    if not cleaned:
        return None
    if "@" not in cleaned:
        return cleaned if _USERNAME.fullmatch(cleaned) else None
    _name, address = parseaddr(cleaned)
    if not address or not _LOCAL_AND_DOMAIN.fullmatch(address):
        return None
    return address


def same_person(requested_by: str | None, identities: list[str]) -> bool:
    """Whether ``requested_by`` names one of ``identities`` (a user's email and username).

    An unparseable ``requested_by`` counts as an unknown requester, except that it still
    matches when one of the identities appears inside it: a malformed wrapper around the
    reviewer's own address must not be a way round the self-approval rule."""
    mine = {n for n in (normalize(i) for i in identities) if n}
    if not requested_by or not mine:
        return False
    theirs = normalize(requested_by)
    if theirs is not None:
        return theirs in mine
    text = clean(requested_by)
    return any("@" in identity and identity in text for identity in mine)
