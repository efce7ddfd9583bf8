"""Limits on text, each written once: forms, templates (``maxlength``), the decision service,
the JSON API and its OpenAPI description all read them from here."""

from __future__ import annotations

# Longest comment or reason. The envelope goes into a token output (3 MB upstream limit);
# long enough for a real explanation, short enough that a pasted log is refused up front.
COMMENT_MAX = 10_000
# Longest search text in the queue's filter.
SEARCH_MAX = 200
# Longest run tag typed into the queue's filter (Trigger.dev caps tags at 128 characters).
TAG_MAX = 128
# Longest Markdown summary a task may announce (README, "The approval contract"): a page of
# explanation, not a document; the sync cuts the rest.
SUMMARY_MAX = 20_000
