"""A task's Markdown summary as HTML that is safe to put on the page.

The summary is untrusted upstream text. Two walls, each enough on its own for script:

1. markdown-it-py parses it with raw HTML off (``<script>`` or ``<img onerror>`` in the text
   come out as escaped text), its own link check (no ``javascript:``, ``vbscript:``,
   ``file:`` or ``data:`` links), images replaced by their alt text (nothing remote is ever
   loaded: no tracking pixels), and headings moved below the page's own (h1 becomes h3).
2. nh3 (ammonia) then keeps only a short list of tags and attributes: links keep ``href``
   only for http, https and mailto, and get ``rel="noopener noreferrer nofollow"`` and
   ``target="_blank"``; no ``style``, ``class``, ``id`` or event attribute survives, so the
   page's Content-Security-Policy (no inline style) holds too.

Invisible characters (bidi overrides, zero-width characters, controls) are shown as
``\\uXXXX`` before parsing, as the ``visible`` filter shows them everywhere else on the page:
a summary cannot reorder what it appears to say.

``render_summary`` is the one function in the project that returns upstream text marked safe.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from approvals.invisible import SHOWN_ESCAPED

# The characters the ``visible`` template filter shows as escapes: one definition,
# approvals.invisible.SHOWN_ESCAPED (tests/pages/test_readable_requests.py checks both agree).
INVISIBLE = SHOWN_ESCAPED

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "strong", "em", "s", "code", "pre", "blockquote",
        "ul", "ol", "li", "a", "h3", "h4", "h5", "h6",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"
# Markdown headings sit under the page's h1 and the card's h2.
HEADING_SHIFT = {"h1": "h3", "h2": "h4", "h3": "h5", "h4": "h6", "h5": "h6", "h6": "h6"}
# Deeply nested lists and quotes cost time and say nothing more.
MAX_NESTING = 20


def _show_invisible(match: re.Match[str]) -> str:
    point = ord(match.group())
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"


def _image_as_text(
    self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # An image would be fetched the moment the page shows: its alt text only, marked as such.
    alt = self.renderInlineAsText(tokens[idx].children or [], options, env)
    return escapeHtml(f"[image: {alt}]" if alt else "[image]")


def _parser() -> MarkdownIt:
    # "js-default": CommonMark plus tables and strikethrough; raw HTML, linkify and
    # typographic replacements off.
    md = MarkdownIt("js-default", {"html": False, "linkify": False, "maxNesting": MAX_NESTING})
    md.add_render_rule("image", _image_as_text)
    return md


def _only_allowed_links(tag: str, attribute: str, value: str) -> str | None:
    # Relative links would point into this dashboard; other schemes are not the web.
    if tag == "a" and attribute == "href":
        scheme, colon, _ = value.partition(":")
        return value if colon and scheme.lower() in LINK_SCHEMES else None
    return value


_MARKDOWN = _parser()
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    attribute_filter=_only_allowed_links,
    url_schemes=set(LINK_SCHEMES),
    link_rel=LINK_REL,
    set_tag_attribute_values={"a": {"target": "_blank"}},
    strip_comments=True,
)


def summary_html(text: str) -> str:
    """The sanitised HTML for a Markdown ``text`` (a plain string: see ``render_summary``)."""
    tokens = _MARKDOWN.parse(INVISIBLE.sub(_show_invisible, text))
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = HEADING_SHIFT.get(token.tag, token.tag)
    html = _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {})
    return _CLEANER.clean(html)


def render_summary(text: str) -> SafeString:
    """``text`` (Markdown from upstream) as HTML to put on the page unescaped."""
    return mark_safe(summary_html(text) if text else "")
