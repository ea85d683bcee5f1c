"""Tracelogs carried by log shippers: the level word in square brackets (some logging
setups), and JSON objects whose fields hold the time, the level and the message apart
(Filebeat, Fluent Bit, Vector, a Loki export; grammars/tracelog.toml [json_lines]). The
failure logged in such lines is found, as in a plain memsql.log."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner

from forensics.cli import main
from forensics.loader import load_bundle
from forensics.parsers import tracelog

COPY = "COPY PARTITION events:3 to '10.0.0.14':3306"
OOM = (
    "`events_3` log: snapshot apply stopped: Leaf Error (10.0.0.14:3306): ERROR 1712 (HY000): "
    "Not enough memory available to complete the current request."
)
# (time, level word, message) of the master aggregator and of the source leaf
MA = [
    ("2026-03-05T14:10:00.000Z", "info", "Thread 5: Rebalance: REBALANCE PARTITIONS ON events starting"),
    ("2026-03-05T14:10:01.000Z", "info", f"Thread 5: Rebalance: {COPY} started"),
    ("2026-03-05T14:11:52.500Z", "error", f"Thread 5: Rebalance: {COPY} failed"),
    ("2026-03-05T14:11:52.600Z", "error", "Thread 5: Rebalance: REBALANCE PARTITIONS ON events failed"),
]  # fmt: skip
LEAF = [("2026-03-05T15:11:52.000+01:00", "ERROR", f"Thread 9: Fn: {OOM}")]


# --------------------------------------------------------------------------- shippers


def filebeat(t: str, level: str, message: str) -> dict[str, Any]:
    """Filebeat's ECS document: the level nested under "log", the file's offset beside it."""
    return {
        "@timestamp": t,
        "log": {"level": level, "offset": 4096, "file": {"path": "/var/lib/memsql/memsql.log"}},
        "host": {"name": "leaf-2"},
        "message": message,
    }


def ecs_flat(t: str, level: str, message: str) -> dict[str, Any]:
    """ecs-logging writes the dotted names as keys."""
    return {"@timestamp": t, "log.level": level, "message": message, "ecs.version": "1.6.0"}


def fluent_bit(t: str, level: str, message: str) -> dict[str, Any]:
    """Fluent Bit's json output: the time as epoch seconds under "date"."""
    stamp = datetime.fromisoformat(t).timestamp()
    return {"date": stamp, "severity": level.upper(), "msg": message, "hostname": "leaf-2"}


def vector(t: str, level: str, message: str) -> dict[str, Any]:
    """Vector's file sink with a remap that parsed the level."""
    return {"timestamp": t, "level": level, "message": message, "source_type": "file"}


def loki(t: str, level: str, message: str) -> dict[str, Any]:
    """A Loki export (logcli --output=jsonl): the level is a stream label."""
    return {"labels": {"level": level, "job": "singlestore"}, "line": message, "timestamp": t}


def datadog(t: str, level: str, message: str) -> dict[str, Any]:
    """Datadog's logs: the level as "status", the time as epoch milliseconds."""
    stamp = round(datetime.fromisoformat(t).timestamp() * 1000)
    return {"timestamp": stamp, "host": "leaf-2", "status": level.lower(), "message": message}


def datadog_explorer(t: str, level: str, message: str) -> dict[str, Any]:
    """Datadog's Log Explorer export: every field nested under "content"."""
    return {"id": "AQ0", "content": {"timestamp": t, "status": level, "message": message}}


_PRIORITY = {"info": "6", "warn": "4", "error": "3"}


def journald(t: str, level: str, message: str) -> dict[str, Any]:
    """`journalctl -o json`: epoch microseconds as text, the syslog severity number."""
    stamp = round(datetime.fromisoformat(t).timestamp() * 10**6)
    return {
        "__REALTIME_TIMESTAMP": str(stamp),
        "PRIORITY": _PRIORITY[level.lower()],
        "_HOSTNAME": "leaf-2",
        "MESSAGE": message,
    }


def _jsonl(shape: Any, rows: list[tuple[str, str, str]]) -> str:
    return "".join(json.dumps(shape(*row)) + "\n" for row in rows)


@pytest.mark.parametrize(
    "shape", [filebeat, ecs_flat, fluent_bit, vector, loki, datadog, datadog_explorer, journald]
)
def test_shipper_fields_give_the_events(tmp_path: Path, shape: Any) -> None:
    path = tmp_path / "10.0.0.10_3306" / "memsql.log.json"
    path.parent.mkdir()
    path.write_text(_jsonl(shape, [*MA, *LEAF]))
    bundle = load_bundle([path])
    assert bundle.files.get_column("skipped_reason").to_list() == [None]
    events = bundle.events.sort("line")
    assert events.get_column("level").to_list() == ["INFO", "INFO", "ERROR", "ERROR", "ERROR"]
    assert events.get_column("thread").to_list() == [5, 5, 5, 5, 9]
    assert events.get_column("message").to_list()[2] == f"Thread 5: Rebalance: {COPY} failed"
    assert events.get_column("ts").to_list()[2:] == [
        datetime(2026, 3, 5, 14, 11, 52, 500000, tzinfo=UTC),
        datetime(2026, 3, 5, 14, 11, 52, 600000, tzinfo=UTC),
        datetime(2026, 3, 5, 14, 11, 52, tzinfo=UTC),  # (its +01:00 or epoch: UTC)
    ]
    assert not any("not in the tracelog layout" in w for w in bundle.warnings)


@pytest.mark.parametrize(
    ("stamp", "utc"),
    [
        ("2026-03-05T14:11:52.123456789Z", datetime(2026, 3, 5, 14, 11, 52, 123456)),
        ("2026-03-05T15:11:52.123+01:00", datetime(2026, 3, 5, 14, 11, 52, 123000)),
        (1772719912, datetime(2026, 3, 5, 14, 11, 52)),
        (1772719912.5, datetime(2026, 3, 5, 14, 11, 52, 500000)),
        (1772719912123, datetime(2026, 3, 5, 14, 11, 52, 123000)),
        ("1772719912123456", datetime(2026, 3, 5, 14, 11, 52, 123456)),
        (1772719912123456789, datetime(2026, 3, 5, 14, 11, 52, 123456)),
    ],
)
def test_a_shipper_time_is_read_in_utc(stamp: Any, utc: datetime) -> None:
    """RFC 3339 with its zone, or a Unix epoch in any unit; --tz does not apply."""
    line = json.dumps({"ts": stamp, "lvl": "warn", "msg": "Thread 1: slow"}).encode()
    parts = tracelog.json_parts(line)
    assert parts == tracelog.JsonParts(message="msg", time="ts", level="lvl")
    events = tracelog.parse_tracelog(
        [tracelog.rebuild_json(line, parts)], path="p", node="n:1", tz="Asia/Tokyo"
    ).events
    assert events.get_column("ts").to_list() == [utc.replace(tzinfo=UTC)]


def test_syslog_severity_numbers_are_mapped() -> None:
    """journald's PRIORITY (text or number): 0-2 FAILURE, 3 ERROR, 4 WARN, 5-7 INFO."""
    values: list[Any] = ["0", "1", "2", "3", "4", "5", "6", "7", 3, "8"]
    lines = [
        json.dumps({"__REALTIME_TIMESTAMP": "1772719912000000", "PRIORITY": p, "MESSAGE": "copy"})
        for p in values
    ]
    data = ("\n".join(lines) + "\n").encode()
    parts = tracelog.json_parts(data)
    assert parts == tracelog.JsonParts(
        message="MESSAGE", time="__REALTIME_TIMESTAMP", level="PRIORITY"
    )
    result = tracelog.parse_tracelog(
        [tracelog.rebuild_json(data, parts)], path="p", node="n:1", keep_all=True
    )
    assert result.events.get_column("level").to_list() == [
        "FAILURE", "FAILURE", "FAILURE", "ERROR", "WARN", "INFO", "INFO", "INFO", "ERROR",
    ]  # fmt: skip
    assert result.events.get_column("ts").to_list()[0] == datetime(
        2026, 3, 5, 14, 11, 52, tzinfo=UTC
    )
    assert (result.lines, result.unparsed_lines) == (10, 1)  # ("8": no severity)


def test_shipper_level_words_are_mapped() -> None:
    words = ["ERR", "critical", "Warning", "notice", "debug", "FATAL", "bogus"]
    lines = [
        json.dumps({"time": "2026-03-05T14:11:52Z", "level": w, "message": f"copy {i}"})
        for i, w in enumerate(words)
    ]
    data = ("\n".join(lines) + "\n").encode()
    parts = tracelog.json_parts(data)
    assert parts is not None
    result = tracelog.parse_tracelog(
        [tracelog.rebuild_json(data, parts)], path="p", node="n:1", keep_all=True
    )
    assert result.events.get_column("level").to_list() == [
        "ERROR", "FAILURE", "WARN", "INFO", "INFO", "FAILURE",
    ]  # fmt: skip
    assert (result.lines, result.unparsed_lines) == (7, 1)  # ("bogus": kept as it is)


def test_line_numbers_stay_those_of_the_file() -> None:
    """A message holding line breaks and a line that is no object do not shift them."""
    data = (
        b'{"ts":"2026-03-05T14:11:52Z","level":"error","message":"a\\nb\\n"}\n'
        b'{"ts":"2026-03-05T14:11:5\n'  # (cut: no object, so continuing the line before)
        b'{"ts":"2026-03-05T14:11:53Z","level":"error","message":"c"}\n'
    )
    parts = tracelog.json_parts(data)
    assert parts is not None
    rebuilt = tracelog.rebuild_json(data, parts)
    assert rebuilt.count(b"\n") == data.count(b"\n")
    events = tracelog.parse_tracelog([rebuilt], path="p", node="n:1").events
    assert events.get_column("line").to_list() == [1, 3]
    assert events.get_column("message").to_list() == ['a b\n{"ts":"2026-03-05T14:11:5', "c"]


@pytest.mark.parametrize(
    "head",
    [
        b'{"ts":"2026-03-05T14:11:52Z","message":"no level"}\n',
        b'{"level":"error","message":"no time"}\n',
        b'{"ts":"2026-03-05T14:11:52Z","level":"error"}\n',
        b'{"ts":"2026-03-05T14:11:52Z","level":"loud","message":"no level word"}\n',
        b"not json\nnot json either\n",
    ],
)
def test_objects_without_the_three_fields_are_not_a_tracelog(head: bytes) -> None:
    assert tracelog.json_parts(head) is None


# --------------------------------------------------------------------------- end to end


def _verdicts(bundle: Path) -> tuple[int, list[tuple[Any, ...]]]:
    """Exit code and verdicts of ``forensics analyze DIR --json F``."""
    out = bundle.parent / f"{bundle.name}.json"
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--json", str(out)])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(out.read_text())
    return result.exit_code, [
        (v["database"], v["status"], v["phase"], v["cause"]) for v in report["verdicts"]
    ]


def test_a_copy_failure_told_only_by_shipper_json_is_found(tmp_path: Path) -> None:
    """The MA's log came through Filebeat, the leaf's through Fluent Bit: the failed copy
    and its out-of-memory cause are in those JSON fields only."""
    for node, shape, rows in (
        ("10.0.0.10_3306", filebeat, MA),
        ("10.0.0.11_3306", fluent_bit, LEAF),
    ):
        path = tmp_path / "b" / node / "memsql.log"
        path.parent.mkdir(parents=True)
        path.write_text(_jsonl(shape, rows))
    assert _verdicts(tmp_path / "b") == (1, [("events", "failure", "copy", "out_of_memory")])


def _bracketed(t: str, level: str, message: str, form: str) -> str:
    """The line as a bracketing logging setup writes it: uptime counter, UTC time."""
    at = datetime.fromisoformat(t).astimezone(UTC)
    uptime = int(at.timestamp() * 10**6) - 1772700000 * 10**6  # (started that day)
    stamp = at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return f"{uptime} {stamp} {form.format(level.upper())} {message}\n"


@pytest.mark.parametrize("form", ["[{}]", "[{}]:", "[{:<5}]", "[{:>5}]:"])
def test_a_copy_failure_told_in_bracketed_levels_is_found(tmp_path: Path, form: str) -> None:
    """`... 14:11:52.500 [ERROR] Thread 5: ...` (and `[ERROR]:`, and log4j's `%-5p`
    padding: `[INFO ]`) are tracelog lines: the failed copy and its cause are read."""
    for node, rows in (("10.0.0.10_3306", MA), ("10.0.0.11_3306", LEAF)):
        path = tmp_path / "b" / node / "tracelogs" / "memsql.log"
        path.parent.mkdir(parents=True)
        path.write_text("".join(_bracketed(*row, form) for row in rows))
    assert _verdicts(tmp_path / "b") == (1, [("events", "failure", "copy", "out_of_memory")])


def test_scan_finds_the_failure_in_a_loose_shipper_log(tmp_path: Path) -> None:
    """`forensics scan` over exported logs: a loose file of a shipper's JSON lines is a
    log input (it had been 'other': no incident), and its failure an incident."""
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "ma-filebeat.ndjson").write_text(_jsonl(filebeat, MA))
    out = tmp_path / "incidents.parquet"
    done = CliRunner().invoke(main, ["scan", str(tmp_path / "exports"), "-o", str(out)])
    assert done.exit_code == 0, done.output
    incidents = pl.read_parquet(out)
    assert incidents.select("database", "phase").rows() == [("events", "copy")]


def test_a_loose_shipper_file_is_named_by_its_host_field(tmp_path: Path) -> None:
    """No node folder names a loose export's node: the host every line's shipper field
    names does (Datadog "host", journald "_HOSTNAME", Filebeat "host.name"); a file of
    lines of several hosts is read as one log per host (tests/test_mixed_sources.py)."""
    mixed = [*_jsonl(datadog, MA).splitlines(keepends=True)]
    mixed[1] = mixed[1].replace('"leaf-2"', '"leaf-3"')
    files = {
        "dd.jsonl": _jsonl(datadog, MA),
        "journal.json": _jsonl(journald, LEAF).replace("leaf-2", "leaf-9"),
        "fb.ndjson": _jsonl(filebeat, LEAF).replace("leaf-2", "leaf-7"),
        "mixed.jsonl": "".join(mixed),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    bundle = load_bundle([tmp_path / name for name in files])
    nodes = dict(bundle.files.select("path", "node").iter_rows())
    by_name = {Path(p).name: n for p, n in nodes.items()}
    assert by_name["dd.jsonl"] == "leaf-2"
    assert by_name["journal.json"] == "leaf-9"
    assert by_name["fb.ndjson"] == "leaf-7"
    assert by_name["mixed.jsonl#leaf-2"] == "leaf-2"
    assert by_name["mixed.jsonl#leaf-3"] == "leaf-3"
    events = bundle.events.filter(pl.col("level") == "ERROR")
    assert set(events.get_column("node")) >= {"leaf-2", "leaf-9", "leaf-7"}
