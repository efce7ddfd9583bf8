"""The queue at / lists pending approvals from the database: ordered, filtered, searched, paged."""

from __future__ import annotations

import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from approvals.models import ApprovalState
from tests.factories import make_approval
from tests.pages.conftest import HTMX


def _rows(body: str) -> list[str]:
    """The token ids of the queue's rows, in order."""
    return re.findall(r'<tr id="row-\d+" data-token-id="([^"]+)"', body)


def test_the_queue_lists_only_pending_approvals(rita: Client) -> None:
    pending = make_approval(description="Ship the billing fix")
    for state in (ApprovalState.DECIDED, ApprovalState.TIMED_OUT, ApprovalState.RUN_ENDED):
        make_approval(state=state, description=f"Gone {state}")
    response = rita.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert _rows(body) == [pending.token_id]
    assert "Ship the billing fix" in body
    assert "Gone " not in body


def test_each_row_shows_task_run_requester_age_countdown_and_status(rita: Client) -> None:
    approval = make_approval(
        task_identifier="publish-article",
        requested_by="ed@example.com",
        run_status="FROZEN",
        created_at=timezone.now() - timedelta(minutes=5, seconds=10),
        expires_at=timezone.now() + timedelta(minutes=14, seconds=30),
    )
    body = rita.get("/").content.decode()
    assert "publish-article" in body
    assert f'href="/approvals/{approval.token_id}/"' in body
    assert approval.run_id in body
    assert "ed@example.com" in body
    assert "5 min ago" in body
    assert "in 14 min" in body
    assert "FROZEN" in body


def test_run_ids_link_to_trigger_dev_when_a_run_url_template_is_set(
    rita: Client, settings: object
) -> None:
    approval = make_approval()
    assert "cloud.trigger.dev" not in rita.get("/").content.decode()
    settings.TRIGGER_RUN_URL_TEMPLATE = "https://cloud.trigger.dev/runs/{run_id}"  # type: ignore[attr-defined]
    body = rita.get("/").content.decode()
    assert f'href="https://cloud.trigger.dev/runs/{approval.run_id}"' in body


def test_the_queue_is_ordered_by_time_left_by_default(rita: Client) -> None:
    now = timezone.now()
    later = make_approval(expires_at=now + timedelta(hours=3), created_at=now - timedelta(hours=1))
    never = make_approval(expires_at=None, created_at=now)
    sooner = make_approval(
        expires_at=now + timedelta(minutes=5), created_at=now - timedelta(hours=2)
    )
    assert _rows(rita.get("/").content.decode()) == [
        sooner.token_id,
        later.token_id,
        never.token_id,
    ]


def test_the_queue_can_show_the_newest_first(rita: Client) -> None:
    now = timezone.now()
    old = make_approval(created_at=now - timedelta(hours=2), expires_at=now + timedelta(minutes=1))
    new = make_approval(created_at=now, expires_at=now + timedelta(hours=5))
    assert _rows(rita.get("/?order=newest").content.decode()) == [new.token_id, old.token_id]


def test_the_queue_filters_by_task(rita: Client) -> None:
    deploy = make_approval(task_identifier="deploy-production")
    make_approval(task_identifier="publish-article")
    assert _rows(rita.get("/?task=deploy-production").content.decode()) == [deploy.token_id]


def test_a_bad_filter_is_dropped_and_the_others_still_apply(rita: Client) -> None:
    """An unknown view or order used to void every filter, while the filter bar went on
    showing them: results and bar must agree."""
    deploy = make_approval(task_identifier="deploy-production")
    make_approval(task_identifier="publish-article")
    page = rita.get("/?show=bogus&order=zzz&task=deploy-production&q=" + "x" * 300)
    html = page.content.decode()
    assert page.status_code == 200
    assert _rows(html) == [deploy.token_id]  # the task applies
    # The bad ones are shown as not applied: no search text, the reviewer's default view.
    assert '<input type="search" name="q" id="id_q" value=""' in html
    assert re.search(r'<input type="radio" name="show" value="mine" checked>', html)
    assert re.search(r'<option value="deploy-production" selected>', html)
    unknown = rita.get("/?show=bogus&task=%3Cb%3E&status=NOPE")
    assert _rows(unknown.content.decode()) == []  # shown as filters, and applied as filters


def test_the_queue_filters_by_tag(rita: Client) -> None:
    tagged = make_approval(run_tags=["needs-approval", "team:payments"])
    make_approval(run_tags=["needs-approval", "team:search"])
    assert _rows(rita.get("/?tag=team:payments").content.decode()) == [tagged.token_id]


def test_the_queue_filters_by_run_status(rita: Client) -> None:
    frozen = make_approval(run_status="FROZEN")
    make_approval(run_status="WAITING")
    assert _rows(rita.get("/?status=FROZEN").content.decode()) == [frozen.token_id]


def test_the_queue_filters_approvals_expiring_within_an_hour(rita: Client) -> None:
    now = timezone.now()
    soon = make_approval(expires_at=now + timedelta(minutes=20))
    make_approval(expires_at=now + timedelta(hours=5))
    make_approval(expires_at=None)
    assert _rows(rita.get("/?expiring=on").content.decode()) == [soon.token_id]


def test_search_finds_description_payload_run_and_token_ids(rita: Client) -> None:
    by_description = make_approval(description="Rotate the Stripe keys")
    by_payload = make_approval(payload={"service": "ledger-reconciler"})
    by_run = make_approval(run_id="run_cmabc123xyz")
    by_token = make_approval(token_id="waitpoint_cmdef456uvw")
    make_approval(description="Something else entirely")
    assert _rows(rita.get("/?q=stripe").content.decode()) == [by_description.token_id]
    assert _rows(rita.get("/?q=LEDGER-recon").content.decode()) == [by_payload.token_id]
    assert _rows(rita.get("/?q=run_cmabc123xyz").content.decode()) == [by_run.token_id]
    assert _rows(rita.get("/?q=waitpoint_cmdef456uvw").content.decode()) == [by_token.token_id]


def test_the_queue_paginates_by_25(rita: Client) -> None:
    now = timezone.now()
    approvals = [make_approval(expires_at=now + timedelta(minutes=10 + i)) for i in range(30)]
    first = rita.get("/").content.decode()
    second = rita.get("/?page=2").content.decode()
    assert _rows(first) == [a.token_id for a in approvals[:25]]
    assert _rows(second) == [a.token_id for a in approvals[25:]]
    assert "page 1 of 2" in first
    assert 'href="/?page=2"' in first


def test_pages_keep_the_filters(rita: Client) -> None:
    for _ in range(26):
        make_approval(task_identifier="deploy-production")
    body = rita.get("/?task=deploy-production").content.decode()
    assert 'href="/?task=deploy-production&amp;page=2"' in body


def test_a_page_number_out_of_range_shows_the_last_page(rita: Client) -> None:
    approval = make_approval()
    assert _rows(rita.get("/?page=99").content.decode()) == [approval.token_id]
    assert _rows(rita.get("/?page=abc").content.decode()) == [approval.token_id]


def test_htmx_requests_get_only_the_results_fragment(rita: Client) -> None:
    approval = make_approval(task_identifier="deploy-production")
    make_approval(task_identifier="publish-article")
    response = rita.get("/?task=deploy-production", **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="queue-results"')
    assert "<html" not in body
    assert _rows(body) == [approval.token_id]
    assert "HX-Request" in response["Vary"]


def test_an_htmx_history_restore_gets_the_whole_page(rita: Client) -> None:
    make_approval()
    body = rita.get("/", HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX).content.decode()
    assert "<html" in body


def test_an_empty_queue_says_so(rita: Client) -> None:
    assert "Nothing is waiting for your decision" in rita.get("/").content.decode()
    assert "Nothing is waiting for a decision" in rita.get("/?show=all").content.decode()
    make_approval(task_identifier="deploy-production")
    body = rita.get("/?task=other").content.decode()
    assert "No pending approval matches these filters" in body
