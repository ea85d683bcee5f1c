"""Log exports written as one JSON document, not one object per line: their records'
messages become tracelog lines, one log per source (stream, host, pod).

The shapes read (``[log_documents]`` in grammars/tracelog.toml names their fields):

* ``aws logs filter-log-events`` / ``get-log-events``:
  ``{"events": [{"logStreamName": "...", "timestamp": 1773..., "message": "<line>"}]}``;
* CloudWatch Logs Insights results (``aws logs get-query-results``):
  ``{"results": [[{"field": "@timestamp", "value": "..."}, {"field": "@message", ...}]]}``;
* a Loki ``query_range`` response:
  ``{"data": {"resultType": "streams", "result": [{"stream": {labels}, "values": [["<ns>", "<line>"]]}]}}``;
* an Elasticsearch / OpenSearch ``_search`` response: ``{"hits": {"hits": [{"_source": {...}}]}}``,
  the message and host in the fields ``[json_lines]`` names.

Records are put in time order per source (Loki and Logs Insights answer newest first);
a record's "line" is its number in that order, 1-based, across the document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from .. import grammars
from .layout import _lookup, json_lines
from .sources import Part


@dataclass(frozen=True)
class _Shape:
    stream_labels: tuple[str, ...]  # Loki stream labels naming the node, in preference order


@cache
def _shape() -> _Shape:
    section = grammars.load("tracelog").get("log_documents", {})
    return _Shape(stream_labels=tuple(section.get("stream_labels", ())))


# A document's head: an object whose first keys are one of the shapes' (any indentation).
_HEAD = re.compile(
    rb'^\s*\{\s*"(?:events|results|status|data|hits|took|timed_out|searchedLogStreams|'
    rb'nextForwardToken|nextBackwardToken|_shards|statistics)"\s*:'
)


def looks_like(head: bytes) -> bool:
    """Whether ``head`` opens a JSON document of one of the shapes (not JSON lines)."""
    if not _HEAD.match(head):
        return False
    first = head.split(b"\n", 1)[0].strip()
    try:  # (a first line that is a whole object is JSON lines, read elsewhere)
        json.loads(first)
    except ValueError:
        return True
    return False


@dataclass(frozen=True)
class _Record:
    source: str | None
    time: float  # for the order only; +inf when the record has none
    message: str


def parts(data: bytes) -> list[Part] | None:
    """The document's records as one :class:`Part` per source (the source ``""`` when the
    shape names none), or None when ``data`` is no such document."""
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    found = list(_records(doc))
    if not found:
        return None
    order = sorted(range(len(found)), key=lambda i: (found[i].time, i))
    by_source: dict[str, tuple[list[str], list[int]]] = {}
    for number, i in enumerate(order, start=1):
        record = found[i]
        texts, lines = by_source.setdefault(record.source or "", ([], []))
        for piece in record.message.removesuffix("\n").split("\n"):
            texts.append(piece.removesuffix("\r"))
            lines.append(number)
    return [
        Part(source, ("\n".join(texts) + "\n").encode(), np.asarray(lines, dtype=np.int64))
        for source, (texts, lines) in by_source.items()
    ]


def _records(doc: dict[str, Any]) -> Iterator[_Record]:
    if isinstance(events := doc.get("events"), list):  # CloudWatch Logs
        for event in events:
            if isinstance(event, dict) and isinstance(message := event.get("message"), str):
                source = event.get("logStreamName")
                yield _Record(_text(source), _number(event.get("timestamp")), message)
    elif isinstance(results := doc.get("results"), list):  # CloudWatch Logs Insights
        for row in results:
            if not isinstance(row, list):
                continue
            fields = {f.get("field"): f.get("value") for f in row if isinstance(f, dict)}
            if isinstance(message := fields.get("@message"), str):
                stamp = fields.get("@timestamp")
                yield _Record(_text(fields.get("@logStream")), _sortable(stamp), message)
    elif isinstance(data := doc.get("data"), dict) and isinstance(data.get("result"), list):
        yield from _loki(data["result"])
    elif isinstance(hits := doc.get("hits"), dict) and isinstance(hits.get("hits"), list):
        yield from _search_hits(hits["hits"])


def _loki(streams: list[Any]) -> Iterator[_Record]:
    labels_wanted = _shape().stream_labels
    for stream in streams:
        if not isinstance(stream, dict) or not isinstance(stream.get("values"), list):
            continue
        labels = stream.get("stream")
        labels = labels if isinstance(labels, dict) else {}
        source = next((_text(labels.get(k)) for k in labels_wanted if _text(labels.get(k))), None)
        for value in stream["values"]:
            if isinstance(value, list) and len(value) >= 2 and isinstance(value[1], str):
                yield _Record(source, _number(value[0]), value[1])


def _search_hits(hits: list[Any]) -> Iterator[_Record]:
    spec = json_lines()
    for hit in hits:
        doc = hit.get("_source") if isinstance(hit, dict) else None
        if not isinstance(doc, dict):
            continue
        message = next((m for n in spec.fields if isinstance(m := _lookup(doc, n), str)), None)
        if message is None:
            continue
        host = next((h for n in spec.host_fields if isinstance(h := _lookup(doc, n), str)), None)
        stamp = next((_lookup(doc, n) for n in spec.time_fields if _lookup(doc, n)), None)
        yield _Record(host, _sortable(stamp), message)


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _number(value: object) -> float:
    """An epoch number (any unit: only the order matters), or +inf."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("inf")


def _sortable(value: object) -> float:
    """A time as a number for ordering: epoch digits, or an ISO 8601 text."""
    if isinstance(value, str) and not value.strip().lstrip("-").replace(".", "").isdigit():
        from datetime import UTC, datetime

        try:
            stamp = datetime.fromisoformat(value.strip().replace(" ", "T"))
        except ValueError:
            return float("inf")
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
    return _number(value)
