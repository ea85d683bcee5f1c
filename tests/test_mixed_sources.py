"""One file holding the logs of several nodes (``docker compose logs``, ``kubectl logs
--prefix`` of several pods, a shipper's export of several hosts) is read as one tracelog
per node: the same verdict as the nodes' own files, no restart made of one node's uptime
counter following another's, evidence at the file's own line numbers."""

from __future__ import annotations

import io
import json
import re
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard
from click.testing import CliRunner

from forensics.cli import main

FIXTURE = Path(__file__).parents[1] / "fixtures" / "copy_lock_timeout_optimize"
NAMES = {"10.0.5.10-3306": "memsql-ma", "10.0.5.11-3306": "memsql-leaf-1"}
NAMES |= {"10.0.5.12-3306": "memsql-leaf-2", "10.0.5.13-3306": "memsql-leaf-3"}
_LINE = re.compile(r"\d+ (\S+ \S+)\s+(\w+): (.*)")


def unpack_case(root: Path) -> Path:
    """The fixture's bundle unpacked under ``root`` (four nodes' memsql.log and the SQL
    outputs)."""
    raw = (FIXTURE / "sdb-case-7731.tar.zst").read_bytes()
    unpacked = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw))
    with unpacked as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
        tar.extractall(root, filter="data")
    return root / "sdb-case-7731"


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unpack_case(tmp_path_factory.mktemp("case"))


@pytest.fixture(scope="module")
def own_files(case: Path) -> dict[str, Any]:
    """The report on the nodes' own files."""
    return analyze_failed(case)


def _merged(case: Path, line: Callable[[str, str, re.Match[str]], str]) -> list[str]:
    """Every node's lines, each written by ``line(node name, raw line, layout match)``,
    in time order (as the tools that merge logs write them)."""
    rows = []
    for log in sorted(case.glob("logs/*/memsql.log")):
        name = NAMES[log.parent.name]
        for raw in log.read_text().splitlines():
            m = _LINE.match(raw)
            assert m is not None
            rows.append((m[1], line(name, raw, m)))
    return [text for _, text in sorted(rows, key=lambda r: r[0])]


def compose(name: str, raw: str, m: re.Match[str]) -> str:
    return f"{name:<16}| {raw}"


def kubectl(name: str, raw: str, m: re.Match[str]) -> str:
    return f"[pod/node-{name}-0/node] {raw}"


def filebeat(name: str, raw: str, m: re.Match[str]) -> str:
    stamp = m[1].replace(" ", "T") + "Z"
    return json.dumps({"@timestamp": stamp, "host": {"name": name}, "message": raw})


def shipper_fields(name: str, raw: str, m: re.Match[str]) -> str:
    stamp = m[1].replace(" ", "T") + "Z"
    fields = {"@timestamp": stamp, "log": {"level": m[2].lower()}, "message": m[3]}
    return json.dumps({**fields, "host": {"name": name}})


def analyze_failed(bundle: Path) -> dict[str, Any]:
    """The JSON report of ``forensics analyze`` on ``bundle``, which must find a failure."""
    out = bundle.parent / f"{bundle.name}.json"
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--json", str(out)])
    assert result.exit_code == 1, result.output
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def _evidence(report: dict[str, Any]) -> dict[str, Any]:
    """The first evidence line of the finding the first verdict rests on."""
    finding = next(f for f in report["findings"] if f["id"] == report["verdicts"][0]["finding"])
    first: dict[str, Any] = finding["evidence"][0]
    return first


def _numbers(impact: dict[str, Any]) -> dict[str, Any]:
    """The impact without the paths of the snapshots it was computed from."""
    databases = [{k: v for k, v in db.items() if k != "snapshot"} for db in impact["databases"]]
    return {**impact, "databases": databases}


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("docker-compose.log", compose),
        ("all-pods.log", kubectl),
        ("export.ndjson", filebeat),
        ("export.json", shipper_fields),
    ],
)
def test_a_file_of_several_nodes_gives_the_verdict_of_their_own_files(
    case: Path,
    own_files: dict[str, Any],
    tmp_path: Path,
    name: str,
    line: Callable[[str, str, re.Match[str]], str],
) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(case / "outputs", bundle / "outputs")
    merged = _merged(case, line)
    (bundle / name).write_text("\n".join(merged) + "\n")

    report = analyze_failed(bundle)

    # one verdict, the fixture's own: no node_failure made of the nodes' uptime counters
    verdicts = [(v["database"], v["status"], v["phase"], v["cause"]) for v in report["verdicts"]]
    assert verdicts == [("inventory", "failure", "copy", "lock_timeout")]
    assert _numbers(report["impact"]) == _numbers(own_files["impact"])
    # the evidence names the node's part of the file, at the line of the file that holds it
    evidence = _evidence(report)
    assert evidence["file"] == f"bundle/{name}#{'node-' if line is kubectl else ''}memsql-ma" + (
        "-0" if line is kubectl else ""
    )
    assert "Lock wait timeout exceeded" in merged[evidence["line"] - 1]
    assert any("holds the lines of 4 sources" in w for w in report["warnings"])


def test_a_prefix_naming_one_source_is_read_as_one_log(case: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(case / "outputs", bundle / "outputs")
    for log in case.glob("logs/*/memsql.log"):
        lines = [compose(NAMES[log.parent.name], raw, _LINE.match(raw)) for raw in log.read_text().splitlines()]  # type: ignore[arg-type]  # fmt: skip
        folder = bundle / log.parent.name
        folder.mkdir()
        (folder / "compose.log").write_text("\n".join(lines) + "\n")

    report = analyze_failed(bundle)

    assert [(v["database"], v["cause"]) for v in report["verdicts"]] == [
        ("inventory", "lock_timeout")
    ]
    evidence = _evidence(report)
    assert "#" not in evidence["file"]
    assert not any("sources" in w for w in report["warnings"])


# ------------------------------------------------------------------- one JSON document


def _epoch_ms(m: re.Match[str]) -> int:
    from datetime import UTC, datetime

    return round(datetime.fromisoformat(m[1]).replace(tzinfo=UTC).timestamp() * 1000)


def _records(case: Path) -> list[tuple[str, re.Match[str]]]:
    rows = []
    for log in sorted(case.glob("logs/*/memsql.log")):
        for raw in log.read_text().splitlines():
            m = _LINE.match(raw)
            assert m is not None
            rows.append((NAMES[log.parent.name], m))
    return sorted(rows, key=lambda r: r[1][1])


def cloudwatch(case: Path) -> Any:
    """`aws logs filter-log-events`: the streams' events interleaved by time."""
    events = [
        {"logStreamName": name, "timestamp": _epoch_ms(m), "message": m[0], "eventId": str(i)}
        for i, (name, m) in enumerate(_records(case))
    ]
    return {"events": events, "searchedLogStreams": [{"logStreamName": n} for n in NAMES.values()]}


def insights(case: Path) -> Any:
    """Logs Insights results: newest first, each row a list of field/value pairs."""
    rows = [
        [
            {"field": "@timestamp", "value": m[1]},
            {"field": "@message", "value": m[0]},
            {"field": "@logStream", "value": name},
        ]
        for name, m in reversed(_records(case))
    ]
    return {"results": rows, "statistics": {"recordsMatched": len(rows)}, "status": "Complete"}


def loki(case: Path) -> Any:
    """A Loki query_range response: one stream per pod, values newest first."""
    streams: dict[str, list[list[str]]] = {}
    for name, m in _records(case):
        streams.setdefault(name, []).append([str(_epoch_ms(m) * 1_000_000), m[0]])
    result = [
        {"stream": {"pod": name, "container": "node"}, "values": values[::-1]}
        for name, values in streams.items()
    ]
    return {"status": "success", "data": {"resultType": "streams", "result": result}}


def elasticsearch(case: Path) -> Any:
    """An Elasticsearch _search response of Filebeat documents."""
    hits = [
        {
            "_index": "filebeat",
            "_source": {
                "@timestamp": m[1].replace(" ", "T") + "Z",
                "host": {"name": name},
                "message": m[0],
            },
        }
        for name, m in _records(case)
    ]
    return {"took": 12, "timed_out": False, "hits": {"total": {"value": len(hits)}, "hits": hits}}


@pytest.mark.parametrize("shape", [cloudwatch, insights, loki, elasticsearch])
def test_a_log_export_in_one_json_document_is_read_per_source(
    case: Path, own_files: dict[str, Any], tmp_path: Path, shape: Callable[[Path], Any]
) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(case / "outputs", bundle / "outputs")
    (bundle / "export.json").write_text(json.dumps(shape(case), indent=2))

    report = analyze_failed(bundle)

    verdicts = [(v["database"], v["status"], v["phase"], v["cause"]) for v in report["verdicts"]]
    assert verdicts == [("inventory", "failure", "copy", "lock_timeout")]
    assert _numbers(report["impact"]) == _numbers(own_files["impact"])
    evidence = _evidence(report)
    assert evidence["file"] == "bundle/export.json#memsql-ma"
    # (the line: the record's number in time order)
    assert "Lock wait timeout exceeded" in _records(case)[evidence["line"] - 1][1][0]


def test_a_source_without_tracelog_lines_is_no_node(case: Path, tmp_path: Path) -> None:
    """docker compose logs of the cluster and of a tool's container (its own log lines):
    the tool's lines make no node, and are said not read."""
    bundle = tmp_path / "bundle"
    shutil.copytree(case / "outputs", bundle / "outputs")
    merged = _merged(case, compose)
    studio = [f"{'studio-1':<16}| [studio] GET /api/v1/clusters 200 {i} ms" for i in range(40)]
    (bundle / "docker-compose.log").write_text("\n".join(studio + merged) + "\n")

    report = analyze_failed(bundle)

    assert [(v["database"], v["cause"]) for v in report["verdicts"]] == [
        ("inventory", "lock_timeout")
    ]
    note = next(w for w in report["warnings"] if "holds the lines of 4 sources" in w)
    assert "studio-1 (40 lines) hold no tracelog line: not read" in note
    assert "Lock wait timeout exceeded" in (studio + merged)[_evidence(report)["line"] - 1]
