"""The detail page makes a request readable: the payload, context and run metadata as key/value
lists (raw JSON behind a toggle), without echoing the run's announcement, and the task's
Markdown summary as sanitised HTML that can neither run script nor load anything."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from approvals.models import Approval
from approvals.presentation import markdown, payload
from approvals.templatetags import approval_tags
from tests.factories import make_approval


def _page(client: Client, approval: Approval) -> str:
    response = client.get(f"/approvals/{approval.token_id}/")
    assert response.status_code == 200
    return response.content.decode()


def _card(body: str, heading: str) -> str:
    """The card under ``<h2>heading</h2>``, up to the end of its section."""
    match = re.search(rf"<h2>{heading}</h2>(.*?)</section>", body, re.DOTALL)
    assert match, f"no {heading!r} card"
    return match.group(1)


def _readable(card: str) -> str:
    """The key/value view of a card, without its raw JSON."""
    return card.split('<details class="raw-json">')[0]


# --- The payload as keys and values -------------------------------------------------------


def test_a_nested_payload_is_shown_as_indented_keys_and_values(rita: Client) -> None:
    approval = make_approval(
        payload={"service": "billing", "owner": {"team": "payments", "oncall": ["ana", "bo"]}}
    )

    view = _readable(_card(_page(rita, approval), "Payload"))

    assert '<dl class="kv">' in view
    assert '<dt><bdi>service</bdi></dt><dd><bdi class="kv-string">billing</bdi></dd>' in view
    # The nested object is a list of its own inside its key's value, and so is the array.
    nested = re.search(r"<dt><bdi>owner</bdi></dt><dd>(.*)</dd>", view, re.DOTALL)
    assert nested and '<dl class="kv">' in nested.group(1)
    assert '<dt><bdi>team</bdi></dt><dd><bdi class="kv-string">payments</bdi>' in view
    assert '<ol class="kv-list" start="0"><li><bdi class="kv-string">ana</bdi></li>' in view


def test_a_web_address_becomes_a_link_that_opens_apart(rita: Client) -> None:
    approval = make_approval(payload={"ci": "https://ci.example.com/builds/42?x=<1>"})

    view = _readable(_card(_page(rita, approval), "Payload"))

    assert (
        '<a class="kv-url" href="https://ci.example.com/builds/42?x=&lt;1&gt;" target="_blank"'
        ' rel="noopener noreferrer">'
    ) in view


@pytest.mark.parametrize(
    "address",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://files.example.com/x",
        " https://padded.example.com",
        "https://spaced example.com",
        "https://bidi.example.com/\u202egpj.exe",
        "https://",
    ],
)
def test_other_addresses_stay_text(rita: Client, address: str) -> None:
    approval = make_approval(payload={"link": address})

    view = _readable(_card(_page(rita, approval), "Payload"))

    assert "<a " not in view
    assert 'class="kv-string"' in view


def test_numbers_are_grouped_by_thousands_and_flags_and_null_are_words(rita: Client) -> None:
    approval = make_approval(
        payload={"amount": 1234567, "rate": 98765.4321, "small": 7, "on": True, "off": False,
                 "nothing": None}
    )  # fmt: skip

    view = _readable(_card(_page(rita, approval), "Payload"))

    assert '<data class="kv-number" value="1234567">1,234,567</data>' in view
    assert '<data class="kv-number" value="98765.4321">98,765.4321</data>' in view
    assert '<data class="kv-number" value="7">7</data>' in view
    assert '<data class="kv-boolean" value="true">yes</data>' in view
    assert '<data class="kv-boolean" value="false">no</data>' in view
    assert '<span class="kv-null">null</span>' in view


def test_empty_values_say_so(rita: Client) -> None:
    approval = make_approval(payload={"tags": [], "extra": {}, "note": ""})

    view = _readable(_card(_page(rita, approval), "Payload"))

    assert '<span class="kv-empty">empty list</span>' in view
    assert '<span class="kv-empty">empty object</span>' in view
    assert '<span class="kv-empty">empty text</span>' in view


def test_the_raw_json_stays_behind_a_toggle(rita: Client) -> None:
    approval = make_approval(payload={"service": "billing"}, context={"ticket": "OPS-42"})

    body = _page(rita, approval)

    for heading in ("Payload", "Context"):
        card = _card(body, heading)
        assert '<details class="raw-json"><summary>Raw JSON</summary><pre class="json">{' in card
    assert "&quot;service&quot;: &quot;billing&quot;" in _card(body, "Payload")
    assert '<dt><bdi>ticket</bdi></dt><dd><bdi class="kv-string">OPS-42</bdi>' in _card(
        body, "Context"
    )


def test_upstream_text_stays_escaped_and_invisible_characters_show(rita: Client) -> None:
    approval = make_approval(payload={"<b>key</b>": "<script>alert(1)</script> invoice\u202egpj"})

    view = _readable(_card(_page(rita, approval), "Payload"))

    assert "<dt><bdi>&lt;b&gt;key&lt;/b&gt;</bdi></dt>" in view
    assert "&lt;script&gt;alert(1)&lt;/script&gt; invoice\\u202egpj" in view
    assert "\u202e" not in view and "<script>" not in view


def test_a_wide_payload_is_capped_and_the_rest_counted(rita: Client) -> None:
    approval = make_approval(payload={"wide": {f"key{n:03d}": n for n in range(250)}})

    view = _readable(_card(_page(rita, approval), "Payload"))

    # The budget covers every key and item, "wide" itself included.
    assert view.count('<div class="kv-row"><dt>') == payload.MAX_ENTRIES
    assert "51 more not shown (see the raw JSON)" in view


def test_a_deep_payload_is_cut_at_a_depth_and_says_so(rita: Client) -> None:
    deep: dict[str, Any] = {"leaf": "bottom-of-the-well"}
    for level in range(10):
        deep = {f"level{level}": deep}
    approval = make_approval(payload=deep)

    view = _readable(_card(_page(rita, approval), "Payload"))

    assert "bottom-of-the-well" not in view
    assert view.count('<dl class="kv">') == payload.MAX_DEPTH
    assert "object with 1 key, nested too deep to show here" in view


def test_a_long_string_is_cut_and_says_how_much_is_left(rita: Client) -> None:
    approval = make_approval(payload={"long": "z" * (payload.MAX_STRING + 1_000)})

    view = _readable(_card(_page(rita, approval), "Payload"))

    assert "z" * payload.MAX_STRING in view and "z" * (payload.MAX_STRING + 1) not in view
    assert "… 1,000 more characters (see the raw JSON)" in view


def test_a_payload_that_is_not_an_object_is_shown_too(rita: Client) -> None:
    approval = make_approval(payload=["a", 2])

    view = _readable(_card(_page(rita, approval), "Payload"))

    assert '<ol class="kv-list" start="0"><li><bdi class="kv-string">a</bdi></li>' in view


# --- Run metadata without the announcement --------------------------------------------------


def test_the_run_metadata_leaves_out_the_announcement(rita: Client) -> None:
    approval = make_approval(
        run_metadata={
            "waitTokens": [
                {
                    "id": "waitpoint_announced9",
                    "description": "Second sign-off",
                    "schema": {"properties": {"x": {"title": "SCHEMA-TITLE-ONLY-IN-METADATA"}}},
                }
            ],
            "owner": "team <payments>",
        }
    )

    body = _page(rita, approval)

    card = _card(body, "Run metadata")
    assert '<dt><bdi>owner</bdi></dt><dd><bdi class="kv-string">team &lt;payments&gt;</bdi>' in card
    assert "waitTokens" not in body
    assert "SCHEMA-TITLE-ONLY-IN-METADATA" not in body
    # The announced token is still listed where it belongs.
    assert "waitpoint_announced9" in _card(body, "Tokens of this run")


def test_metadata_that_is_only_the_announcement_says_there_is_nothing_else(
    rita: Client,
) -> None:
    approval = make_approval(
        run_metadata={"waitTokens": [{"id": "waitpoint_x", "description": "only this"}]}
    )

    card = _card(_page(rita, approval), "Run metadata")

    assert "The run has no other metadata than its announcement of its tokens." in card
    assert "<dl" not in card and "<pre" not in card


# --- The Markdown summary -----------------------------------------------------------------


def _summary(client: Client, text: str) -> str:
    """The summary card's rendered Markdown."""
    body = _page(client, make_approval(summary=text))
    match = re.search(
        r'<section class="card summary">.*?<div class="markdown">(.*?)</div>\s*</section>',
        body,
        re.DOTALL,
    )
    assert match, "no summary card"
    return match.group(1)


def test_a_markdown_summary_renders_emphasis_lists_and_links(rita: Client) -> None:
    card = _summary(
        rita,
        "Ships **billing v2** to _production_.\n\n- no migrations\n- flag off\n\n"
        "[CI report](https://ci.example.com/7) or [mail us](mailto:ops@example.com)",
    )

    assert "<strong>billing v2</strong>" in card
    assert "<em>production</em>" in card
    assert "<ul>\n<li>no migrations</li>\n<li>flag off</li>\n</ul>" in card
    assert (
        '<a href="https://ci.example.com/7" target="_blank" rel="noopener noreferrer nofollow">'
        "CI report</a>"
    ) in card
    assert '<a href="mailto:ops@example.com"' in card


def test_the_summary_sits_at_the_top_of_the_main_column(rita: Client) -> None:
    body = _page(rita, make_approval(summary="Read me first"))

    assert "<h2>Summary</h2>" in body
    assert body.index('<section class="card summary">') < body.index("<h2>Payload</h2>")


def test_no_summary_no_card(rita: Client) -> None:
    assert '<section class="card summary">' not in _page(rita, make_approval(summary=""))


def test_summary_headings_sit_below_the_page_headings(rita: Client) -> None:
    card = _summary(rita, "# Big\n\n## Smaller\n\n###### Smallest")

    assert "<h3>Big</h3>" in card and "<h4>Smaller</h4>" in card and "<h6>Smallest</h6>" in card
    assert "<h1" not in card and "<h2>Big" not in card


HOSTILE_MARKDOWN = {
    "script": "<script>alert(1)</script>",
    "raw img": "<img src=x onerror=alert(1)>",
    "markdown image": "![x](http://evil.example/img.png)",
    "javascript link": "[a](javascript:alert(1))",
    "entity javascript link": "[a](&#106;avascript:alert(1))",
    "data link": "[a](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "raw anchor": '<a href="http://x" onclick="alert(1)">x</a>',
    "raw style": '<p style="position:fixed">x</p><style>body{}</style>',
    "svg": "<svg onload=alert(1)>",
    "iframe": '<iframe src="http://evil.example"></iframe>',
    "reference image": "![x][pixel]\n\n[pixel]: http://evil.example/p.gif",
    "autolink javascript": "<javascript:alert(1)>",
    "relative link": "[admin](/admin/)",
}


@pytest.mark.parametrize("text", HOSTILE_MARKDOWN.values(), ids=HOSTILE_MARKDOWN.keys())
def test_hostile_markdown_can_neither_run_script_nor_load_anything(rita: Client, text: str) -> None:
    card = _summary(rita, text)

    tags = re.findall(r"<[a-zA-Z][^>]*>", card)
    assert not [tag for tag in tags if re.match(r"<(script|img|svg|iframe|style)\b", tag)]
    assert not [tag for tag in tags if re.search(r"\son\w+\s*=", tag)]
    assert not [tag for tag in tags if re.search(r"\s(style|class|id|src)\s*=", tag)]
    hrefs = re.findall(r'href="([^"]*)"', card)
    assert all(re.match(r"(https?|mailto):", href) for href in hrefs), hrefs


def test_an_image_shows_its_alt_text_instead(rita: Client) -> None:
    card = _summary(rita, "![the build graph](https://evil.example/pixel.png)")

    assert "[image: the build graph]" in card
    assert "pixel.png" not in card


def test_table_alignment_needs_no_inline_style(rita: Client) -> None:
    card = _summary(rita, "| name | amount |\n| :-- | --: |\n| a | 1 |")

    assert "<table>" in card and "<td>1</td>" in card
    assert "style=" not in card


def test_invisible_characters_in_the_summary_are_shown(rita: Client) -> None:
    card = _summary(rita, "Pay invoice\u202egpj.exe and z\u200bero")

    assert "\u202e" not in card and "\u200b" not in card
    assert "invoice\\u202egpj.exe" in card and "z\\u200bero" in card


def test_the_summary_hides_invisible_characters_exactly_like_the_visible_filter() -> None:
    assert markdown.INVISIBLE.pattern == approval_tags._INVISIBLE.pattern
