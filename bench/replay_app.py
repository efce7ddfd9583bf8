"""A bare ASGI app that answers every request with one recorded response: the floor under a
served page, used by bench/served_pages.py.

It answers with the kept queue page's exact status, headers (its cookie included) and body,
read from the JSON file named by REPLAY_FILE, so uvicorn and the client do everything they do
for the real page and nothing of Django runs. A served page can never be faster than this;
the benchmark prints the gap.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

_recorded = json.loads(Path(os.environ["REPLAY_FILE"]).read_text())
STATUS: int = _recorded["status"]
HEADERS = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in _recorded["headers"]]
BODY: bytes = _recorded["body"].encode()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await receive()
    await send({"type": "http.response.start", "status": STATUS, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
