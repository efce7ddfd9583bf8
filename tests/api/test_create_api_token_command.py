from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from approvals.models import ApiToken, hash_api_token

pytestmark = pytest.mark.django_db


def test_prints_a_token_that_authenticates_as_the_user(client, reviewer):
    out, err = StringIO(), StringIO()

    call_command("create_api_token", "rita", "--name", "chat bot", stdout=out, stderr=err)

    raw = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert token.user == reviewer
    assert token.name == "chat bot"
    assert token.token_hash == hash_api_token(raw)
    assert "shown once" in err.getvalue()
    assert client.get("/api/approvals", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def test_unknown_user_is_an_error(db):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("create_api_token", "nobody")
