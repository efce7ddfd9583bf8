"""Every reference in a comment or docstring resolves inside the repository: the document
exists and so does the heading it names. (About fifty comments used to cite documents that
lived outside it: "API ref §4.4", "design §5".)"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# docs/x.md, "Heading"  ·  docs/x.md, "A" and "B"  ·  README.md, "Heading"  ·  docs/x.md#anchor
_REFERENCE = re.compile(
    r'(?P<doc>docs/[\w-]+\.md|README\.md)(?:, (?P<heads>"[^"]+"(?: and "[^"]+")*)'
    r"|#(?P<anchor>[\w-]+))?"
)
_HEADING = re.compile(r"^#+ (.+)$", re.MULTILINE)


def _sources() -> dict[str, str]:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "approvals", "approvals_site", "tests",
         "bench", "docs", "README.md", "Makefile", ".ci"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    texts = {}
    for name in listed:
        path = ROOT / name
        if path.suffix in (".py", ".md", ".html", "") and path.is_file():
            # Join wrapped comment lines, so a reference split over two lines reads whole.
            text = path.read_text(encoding="utf-8")
            texts[name] = re.sub(r"\n\s*(?:#:?|//)?\s*", " ", text)
    return texts


def _anchor(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_every_cited_document_and_heading_exists() -> None:
    broken = []
    for name, text in _sources().items():
        if name == "tests/test_docs_references.py":
            continue
        for match in _REFERENCE.finditer(text):
            doc = ROOT / match["doc"]
            if not doc.is_file():
                broken.append(f"{name}: {match['doc']} does not exist")
                continue
            headings = _HEADING.findall(doc.read_text(encoding="utf-8"))
            for head in re.findall(r'"([^"]+)"', match["heads"] or ""):
                if not any(h == head or h.startswith(f"{head}:") for h in headings):
                    broken.append(f'{name}: {match["doc"]} has no heading "{head}"')
            if match["anchor"] and match["anchor"] not in {_anchor(h) for h in headings}:
                broken.append(f"{name}: {match['doc']} has no heading for #{match['anchor']}")
    assert broken == []


def test_no_comment_cites_a_document_outside_the_repository() -> None:
    outside = re.compile(r"API ref|design §|/work/shared|\.\./shared|stack-notes|§\d")
    found = [
        f"{name}: {hit.group()}"
        for name, text in _sources().items()
        if name != "tests/test_docs_references.py"
        for hit in outside.finditer(text)
    ]
    assert found == []


# [text](target.md#anchor) between the Markdown pages; external links are not checked.
_LINK = re.compile(r"\]\((?!https?:|mailto:)([^)\s]*)\)")


def test_links_between_the_markdown_pages_resolve() -> None:
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in _LINK.findall(page.read_text(encoding="utf-8")):
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            name = page.relative_to(ROOT)
            if not linked.exists():
                broken.append(f"{name}: {target} does not exist")
            elif anchor and linked.suffix == ".md":
                headings = _HEADING.findall(linked.read_text(encoding="utf-8"))
                if anchor not in {_anchor(h) for h in headings}:
                    broken.append(f"{name}: {target} names no heading of {linked.name}")
    assert broken == []
