"""The production channel layer (channels-redis) against the real Redis on loopback."""

from __future__ import annotations

import os
import uuid

from channels_redis.core import RedisChannelLayer

REDIS_URL = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"


async def test_a_group_message_reaches_a_member_through_redis() -> None:
    layer = RedisChannelLayer(hosts=[REDIS_URL])
    group = f"test-{uuid.uuid4().hex}"
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    await layer.group_send(group, {"type": "approval.changed", "token": "waitpoint_1"})
    message = await layer.receive(channel)
    assert message == {"type": "approval.changed", "token": "waitpoint_1"}
    await layer.group_discard(group, channel)
    await layer.flush()
