"""Characters that draw nothing: one definition for comparing text and for showing it.

Unicode's Default_Ignorable_Code_Point property (DerivedCoreProperties.txt, Unicode 15.1)
lists the characters a renderer may show as nothing: zero-width spaces and joiners, bidi
controls, variation selectors, the combining grapheme joiner, Hangul fillers, tag
characters. Python's ``unicodedata`` does not expose the property, and the format category
(``Cf``) alone misses several of them (variation selectors are ``Mn``, Hangul fillers
``Lo``), so the ranges are written out here.
"""

from __future__ import annotations

import re

DEFAULT_IGNORABLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)

IGNORABLE = re.compile(f"[{DEFAULT_IGNORABLE}]")

# What pages, emails and Slack messages show as escapes rather than as themselves: C0 and C1
# controls (but tab and newline), DEL, the line and paragraph separators, and every
# default-ignorable character: the bidirectional formatting characters that can make text
# render in a different order than it reads (the "Trojan Source" trick), and the zero-width
# characters, variation selectors and fillers that make two texts look the same, such as a
# requester's address with one inside.
SHOWN_ESCAPED = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029{DEFAULT_IGNORABLE}]")


def codepoint(match: re.Match[str]) -> str:
    """A matched character as ``\\uXXXX`` (``\\UXXXXXXXX`` beyond the BMP)."""
    point = ord(match.group())
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"


def escaped(text: str) -> str:
    """``text`` with every character of ``SHOWN_ESCAPED`` written as its escape."""
    return SHOWN_ESCAPED.sub(codepoint, text)
