"""With ``REDIS_URL`` set, the settings give the production channel layer (channels-redis) on
that Redis, and a group message goes through it. (This used to test the library alone,
built by hand, not the settings that choose it.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"

_ROUND_TRIP = """
import asyncio, uuid, django
django.setup()
from channels.layers import get_channel_layer
from django.conf import settings

async def main():
    layer = get_channel_layer()
    group = f"test-{uuid.uuid4().hex}"
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    await layer.group_send(group, {"type": "approval.changed", "token": "waitpoint_1"})
    message = await asyncio.wait_for(layer.receive(channel), timeout=10)
    await layer.group_discard(group, channel)
    host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    print(type(layer).__name__, host["address"], message)

asyncio.run(main())
"""


def test_redis_url_selects_the_redis_channel_layer_and_a_message_goes_through() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TRIGGER_"))}
    env.update(DJANGO_SETTINGS_MODULE="approvals_site.settings", REDIS_URL=REDIS_URL)
    result = subprocess.run(
        [sys.executable, "-c", _ROUND_TRIP], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(
        f"RedisChannelLayer {REDIS_URL} {{'type': 'approval.changed', 'token': 'waitpoint_1'}}"
    )
