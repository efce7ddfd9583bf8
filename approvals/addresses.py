"""Comparing who asked for a run (the announcement's ``requestedBy``) with who is deciding.

The self-approval rule matches ``requestedBy`` with the reviewer's email or username. Task
authors write that text, so the same person arrives in many shapes: ``Rev Iewer
<rev@example.com>``, ``mailto:rev@example.com`` (percent-encoded or not), ``REV@example.com``,
with a zero-width space or a variation selector, with a full-width ``＠``, or as one of a list
of addresses. ``named`` brings each to one comparable form (docs/hardening.md, "Requesters").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from email.utils import getaddresses
from urllib.parse import unquote

from approvals.invisible import IGNORABLE

# A bare username, as SSO providers and Django make them.
_USERNAME = re.compile(r"[\w.+-]+")
_LOCAL_AND_DOMAIN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+|[^@\s]+@[^@\s.]+")


def _without_invisibles(text: str) -> str:
    # Cc (controls) and Cf (format characters), plus the default-ignorable characters of other
    # categories (variation selectors, Hangul fillers), which draw nothing either.
    text = IGNORABLE.sub("", text)
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc"))


def clean(text: str) -> str:
    """Compatibility forms folded (``＠`` is ``@``), invisible characters dropped, case folded.
    Invisibles go before and after NFKC: between two characters they can stop a composition,
    and NFKC maps some fillers onto others."""
    folded = unicodedata.normalize("NFKC", _without_invisibles(text))
    return _without_invisibles(folded).strip().casefold()


def _address(candidate: str) -> str | None:
    if not _LOCAL_AND_DOMAIN.fullmatch(candidate):
        return None
    # ``example.com.`` is the fully qualified spelling of ``example.com``.
    return candidate[:-1] if candidate.endswith(".") else candidate


@functools.lru_cache(maxsize=4096)
def named(text: str | None) -> frozenset[str]:
    """Every address (or the username) ``text`` names, in comparable form; empty when it
    names nobody we can tell (empty, or not parseable as addresses or a username).

    Cached: the live queue asks it for every socket at every event (a few requesters, asked
    thousands of times), and parsing costs about 100 µs."""
    if not text:
        return frozenset()
    cleaned = clean(text)
    if cleaned.startswith("mailto:"):
        # RFC 6068: ``mailto:`` addresses, comma-separated, percent-encoded, then ``?query``.
        cleaned = clean(unquote(cleaned[len("mailto:") :].split("?", 1)[0], errors="replace"))
    if not cleaned:
        return frozenset()
    if "@" not in cleaned:
        return frozenset({cleaned}) if _USERNAME.fullmatch(cleaned) else frozenset()
    found = (_address(address) for _name, address in getaddresses([cleaned]))
    return frozenset(address for address in found if address)


def normalize(text: str | None) -> str | None:
    """The one address (or username) ``text`` names; ``None`` when it names none, or several."""
    found = named(text)
    return next(iter(found)) if len(found) == 1 else None


def same_person(requested_by: str | None, identities: list[str]) -> bool:
    """Whether ``requested_by`` names one of ``identities`` (a user's email and username).

    A list of requesters names each of them. An unparseable ``requested_by`` counts as an
    unknown requester, except that it still matches when one of the identities appears
    inside it: a malformed wrapper around the reviewer's own address must not be a way round
    the self-approval rule."""
    mine = {n for n in (normalize(i) for i in identities) if n}
    if not requested_by or not mine:
        return False
    theirs = named(requested_by)
    if theirs:
        return not theirs.isdisjoint(mine)
    text = clean(requested_by)
    return any("@" in identity and identity in text for identity in mine)
