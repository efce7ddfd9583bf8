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
