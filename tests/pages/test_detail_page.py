"""The detail page shows everything about one approval: payload, metadata, tokens, policy, votes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.test import Client

from approvals.models import ApprovalPolicy, ApprovalState, Decision, DeliveryState, Vote
from tests.factories import make_approval


def test_the_detail_page_shows_the_payload_and_metadata_as_pretty_escaped_json(
    rita: Client,
) -> None:
    approval = make_approval(
        payload={"service": "billing", "html": "<b>bold</b>", "nested": {"n": 1}},
        run_metadata={"owner": "team <payments>"},
        context={"ticket": "OPS-42"},
    )
    body = rita.get(f"/approvals/{approval.token_id}/").content.decode()
    # Indented two spaces per level (PostgreSQL's jsonb may reorder the keys).
    assert '<pre class="json">{\n  &quot;' in body
    assert "\n  &quot;service&quot;: &quot;billing&quot;" in body
    assert "&quot;html&quot;: &quot;&lt;b&gt;bold&lt;/b&gt;&quot;" in body
    assert "  &quot;nested&quot;: {\n    &quot;n&quot;: 1\n  }" in body
    assert "team &lt;payments&gt;" in body
    assert "OPS-42" in body
    assert "<b>bold</b>" not in body


def test_an_unknown_token_is_not_found(rita: Client) -> None:
    assert rita.get("/approvals/waitpoint_nope/").status_code == 404


def test_the_detail_page_lists_the_run_tags_and_every_token_of_the_run(rita: Client) -> None:
    approval = make_approval(
        run_id="run_shared1",
        run_tags=["needs-approval", "team:payments"],
        run_metadata={
            "waitTokens": [
                {"id": "waitpoint_announced1", "description": "Second sign-off"},
                {"id": "waitpoint_sibling1", "description": "duplicate of a row"},
                "not a record",
            ]
        },
    )
    sibling = make_approval(
        run_id="run_shared1", token_id="waitpoint_sibling1", description="Legal review"
    )
    make_approval(run_id="run_other", token_id="waitpoint_elsewhere")
    body = rita.get(f"/approvals/{approval.token_id}/").content.decode()
    assert "team:payments" in body
    assert f'href="/approvals/{sibling.token_id}/"' in body
    assert "Legal review" in body
    assert "waitpoint_announced1" in body
    assert "Second sign-off" in body
    assert "waitpoint_elsewhere" not in body
    assert body.count("waitpoint_sibling1</code>") == 1


def test_the_detail_page_names_the_policy_that_applies(rita: Client) -> None:
    approval = make_approval(task_identifier="deploy-production")
    body = rita.get(f"/approvals/{approval.token_id}/").content.decode()
    assert "No policy matches" in body
    policy = ApprovalPolicy.objects.create(
        name="Production deploys",
        task_pattern="deploy-*",
        approvals_required=2,
        restrict_to_groups=True,
    )
    policy.approver_groups.add(Group.objects.get(name="Reviewers"))
    body = rita.get(f"/approvals/{approval.token_id}/").content.decode()
    assert "Production deploys" in body
    assert "2 approvals required" in body
    assert "Approvers: Reviewers" in body


def test_the_detail_page_shows_votes_so_far(rita: Client, second_reviewer: Any) -> None:
    ApprovalPolicy.objects.create(name="Two keys", approvals_required=2)
    approval = make_approval()
    Vote.objects.create(
        approval=approval, actor=second_reviewer, verdict="approve", comment="Looks fine to me"
    )
    body = rita.get(f"/approvals/{approval.token_id}/").content.decode()
    assert "1 of 2" in body
    assert "Looks fine to me" in body
    assert "by sam" in body


def test_a_decided_approval_shows_the_decision_its_delivery_and_no_forms(
    rita: Client, second_reviewer: Any
) -> None:
    approval = make_approval(state=ApprovalState.DECIDED)
    Decision.objects.create(
        approval=approval,
        actor=second_reviewer,
        verdict="reject",
        comment="Not during the freeze",
        envelope={"approved": False},
        delivery_state=DeliveryState.DELIVERED,
    )
    body = rita.get(f"/approvals/{approval.token_id}/").content.decode()
    assert "Rejected</strong> by sam" in body
    assert "Not during the freeze" in body
    assert "Delivered" in body
    assert 'class="decide approve-form"' not in body
    assert 'class="decide reject-form"' not in body


def test_an_expired_approval_says_so_and_offers_no_forms(rita: Client) -> None:
    approval = make_approval(state=ApprovalState.TIMED_OUT, closed_reason="token timed out")
    body = rita.get(f"/approvals/{approval.token_id}/").content.decode()
    assert "This approval expired" in body
    assert "approve-form" not in body


def test_typed_fields_come_from_the_announced_schema(rita: Client) -> None:
    approval = make_approval(
        form_schema={
            "type": "object",
            "properties": {
                "ticket": {"type": "string", "title": "Change ticket"},
                "replicas": {"type": "integer", "minimum": 1},
                "ratio": {"type": "number"},
                "notify": {"type": "boolean"},
                "region": {"enum": ["eu", "us"]},
                "ignored": {"type": "object"},
            },
            "required": ["ticket"],
        }
    )
    body = rita.get(f"/approvals/{approval.token_id}/").content.decode()
    assert 'name="approve-field_ticket"' in body
    assert "Change ticket" in body
    assert 'type="number" name="approve-field_replicas"' in body
    assert 'name="approve-field_ratio"' in body
    assert 'type="checkbox" name="approve-field_notify"' in body
    assert '<select name="approve-field_region"' in body
    assert "field_ignored" not in body
