"""A real OpenID provider on loopback (npm's oidc-provider, run by tests/sso/provider.mjs)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests import npm
from tests.served import free_port, stop
from tests.waiting import wait_until

# The minor is pinned: a provider release must not change the tests' ground unasked.
PACKAGE = "oidc-provider@9.13.x"
SCRIPT = Path(__file__).with_name("provider.mjs")
CLIENT_ID = "approvals-dashboard"
CLIENT_SECRET = "test-client-secret-0123456789abcdef"


@dataclass
class OpenIdProvider:
    url: str
    people_file: Path
    process: subprocess.Popen[str]
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET

    def set_person(self, login: str, **claims: Any) -> None:
        """What the provider says about ``login`` from the next sign-in on: ``groups``,
        ``email``, ``name``, ``username`` (the preferred_username; the subject is ``login``)."""
        people = json.loads(self.people_file.read_text())
        people[login] = claims
        self.people_file.write_text(json.dumps(people))

    def env(self) -> dict[str, str]:
        """The dashboard's settings for this provider."""
        return {
            "OIDC_ISSUER": self.url,
            "OIDC_CLIENT_ID": self.client_id,
            "OIDC_CLIENT_SECRET": self.client_secret,
        }


@contextmanager
def running_provider(
    app_origins: list[str], *, port: int | None = None, people: Path | None = None
) -> Iterator[OpenIdProvider]:
    """The provider, with one client whose redirect URIs are the callbacks of ``app_origins``
    (on ``port``, or a free one; each start signs with a new key)."""
    module = npm.installed(PACKAGE, "oidc-provider")
    scratch = Path(tempfile.mkdtemp(prefix="oidc-"))
    port = port or free_port()
    if people is None:
        people = scratch / "people.json"
        people.write_text("{}")
    config = {
        "port": port,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [f"{origin}/oidc/callback/" for origin in app_origins],
        "post_logout_redirect_uris": [f"{origin}/accounts/signed-out/" for origin in app_origins],
        "people": str(people),
    }
    (scratch / "config.json").write_text(json.dumps(config))
    process = subprocess.Popen(
        ["node", str(SCRIPT), str(module), str(scratch / "config.json")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(
                f"the OpenID provider exited: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            return (
                httpx.get(f"{url}/.well-known/openid-configuration", timeout=2).status_code == 200
            )
        except httpx.TransportError:
            return False

    try:
        try:
            # Node loads oidc-provider in a second or two; a machine busy with both test legs
            # has taken longer (CI once timed out at 30 s, saying nothing more).
            wait_until(answers, timeout=90)
        except AssertionError as exc:
            stop(process)
            said = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"the OpenID provider did not answer at {url}: {said}") from exc
        yield OpenIdProvider(url=url, people_file=people, process=process)
    finally:
        stop(process)
        shutil.rmtree(scratch, ignore_errors=True)
