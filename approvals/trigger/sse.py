"""Server-Sent Events: an incremental parser, and decoding of Trigger.dev's two stream formats
(docs/trigger-v4.md, "Realtime").

- v1 (Redis, ``X-Stream-Version`` absent or ``v1``): ``id: <redis id>`` + ``data: <JSON chunk>``,
  with ``: ping`` comments in between.
- v2 (S2, ``X-Stream-Version: v2``): ``event: batch`` whose data is ``{"records": [{"seq_num": N,
  "body": "<JSON text of {data: <chunk>, id: ...}>", "headers": [...]}]}``;
  ``seq_num`` is the resume id, and records whose first header has an empty name are S2 command
  records, skipped.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Any

from . import jsontext
from .records import StreamEvent

__all__ = ["SSEMessage", "SSEParser", "StreamDecoder"]


@dataclass(frozen=True)
class SSEMessage:
    """One dispatched SSE event (per the WHATWG event-stream rules)."""

    event: str
    data: str
    id: str | None


class SSEParser:
    """Feed bytes in any chunking; get complete messages out. Comments are dropped."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._data: list[str] = []
        self._event = ""
        self.last_event_id: str | None = None
        self._first = True

    def feed(self, chunk: bytes) -> list[SSEMessage]:
        text = self._decoder.decode(chunk)
        if self._first and text:
            self._first = False
            text = text.removeprefix("\ufeff")
        self._buffer += text
        messages: list[SSEMessage] = []
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                break
            end, length = cut
            line = self._buffer[:end]
            self._buffer = self._buffer[end + length :]
            message = self._line(line)
            if message is not None:
                messages.append(message)
        return messages

    def close(self) -> list[SSEMessage]:
        """End of stream: a final line without newline is processed; an event not ended by a
        blank line is discarded, as the spec says."""
        self._buffer += self._decoder.decode(b"", final=True)
        if self._buffer and not self._buffer.endswith("\r"):
            self._line(self._buffer)
        self._buffer = ""
        return []

    def _line(self, line: str) -> SSEMessage | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep:
            value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
        return None

    def _dispatch(self) -> SSEMessage | None:
        if not self._data:
            self._event = ""
            return None
        message = SSEMessage(
            event=self._event or "message", data="\n".join(self._data), id=self.last_event_id
        )
        self._data = []
        self._event = ""
        return message


def _line_end(buffer: str) -> tuple[int, int] | None:
    """Position and length of the first line terminator (CRLF, LF or CR)."""
    for index, char in enumerate(buffer):
        if char == "\n":
            return index, 1
        if char == "\r":
            if index + 1 == len(buffer):
                return None  # could be the start of CRLF: wait for more
            return index, 2 if buffer[index + 1] == "\n" else 1
    return None


def _json_or_text(text: str) -> Any:
    try:
        return jsontext.loads(text)
    except ValueError:
        return text


class StreamDecoder:
    """Turns SSE messages of a Trigger.dev stream into ``StreamEvent``s, v1 or v2."""

    def __init__(self, version: str | None) -> None:
        self.v2 = (version or "").strip().lower() == "v2"

    def decode(self, message: SSEMessage) -> list[StreamEvent]:
        if self.v2 or message.event == "batch":
            return self._batch(message)
        return [StreamEvent(id=message.id, data=_json_or_text(message.data))]

    def _batch(self, message: SSEMessage) -> list[StreamEvent]:
        if message.event != "batch":
            return []  # v2 also sends ping / error / tail events that carry no chunks
        payload = _json_or_text(message.data)
        records = payload.get("records") if isinstance(payload, dict) else None
        if not isinstance(records, list):
            return []
        events: list[StreamEvent] = []
        for record in records:
            if not isinstance(record, dict) or _is_command_record(record):
                continue
            seq = record.get("seq_num")
            body = record.get("body")
            decoded = _json_or_text(body) if isinstance(body, str) else body
            data = decoded["data"] if isinstance(decoded, dict) and "data" in decoded else decoded
            events.append(StreamEvent(id=None if seq is None else str(seq), data=data))
        return events


def _is_command_record(record: dict[str, Any]) -> bool:
    headers = record.get("headers")
    if not isinstance(headers, list) or not headers:
        return False
    first = headers[0]
    if isinstance(first, list | tuple) and first:
        return bool(first[0] == "")
    if isinstance(first, dict):
        return bool(first.get("name", first.get("key")) == "")
    return False
