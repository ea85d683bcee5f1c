"""Tracelog lines behind the prefixes that system logs and collectors write: syslog and
journald text (``Mar 12 07:00:38 <host> memsqld[2211]: ``, rsyslog's RFC 3339 times,
journalctl's short-precise, short-iso, short-full), a host in such a prefix naming the
node where no folder does, prefixes stacked by ``kubectl logs --prefix --timestamps``,
and a warning for a file whose lines look like tracelog lines behind a prefix that
``[viewers]`` does not know (grammars/tracelog.toml)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from forensics import grammars
from forensics.loader import load_bundle
from forensics.parsers import layout, sources
from tests.test_mixed_sources import analyze_failed, unpack_case


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture's bundle, unpacked (four nodes' memsql.log and the SQL outputs)."""
    return unpack_case(tmp_path_factory.mktemp("case"))


HOSTS = {"10.0.5.10-3306": "10.0.5.10", "10.0.5.11-3306": "10.0.5.11"}
HOSTS |= {"10.0.5.12-3306": "10.0.5.12", "10.0.5.13-3306": "10.0.5.13"}
PODS = {folder: f"node-sdb-{i}" for i, folder in enumerate(HOSTS)}
_STAMP = re.compile(r"\d+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)")
LINE = "253432581886 2026-03-12 07:00:38.581   {level}: Thread 7: partition copy {word}"
SAMPLES = grammars.load("tracelog")["viewers"]["samples"]


# --------------------------------------------------------------- the grammar's samples


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["line"][:40] for s in SAMPLES])
def test_every_viewer_sample_is_read_as_a_tracelog_line(sample: dict[str, str]) -> None:
    head = (sample["line"] + "\n").encode()
    viewer = layout.viewer_prefix(head)
    assert viewer is not None
    assert layout.sniff(viewer.sub(b"", head))
    named = sources.sole_source(head, viewer) if sources.named_by_viewer(viewer) else None
    assert (named or "") == sample["source"]


def test_journalctl_marker_lines_do_not_hide_the_prefix(tmp_path: Path) -> None:
    lines = [
        "-- Logs begin at Thu 2026-03-12 06:00:00 UTC, end at Thu 2026-03-12 08:00:00 UTC. --",
        f"Mar 12 07:00:38 sdb-leaf1 memsqld[2211]: {LINE.format(level='INFO', word='started')}",
        "-- Reboot --",
        f"Mar 12 07:00:39 sdb-leaf1 memsqld[2211]: {LINE.format(level='WARN', word='slow')}",
    ]
    path = tmp_path / "journal.txt"
    path.write_text("\n".join(lines) + "\n")
    loaded = load_bundle([path])
    assert loaded.files.get_column("skipped_reason").to_list() == [None]
    assert loaded.files.get_column("node").to_list() == ["sdb-leaf1"]
    assert loaded.events.height == 2


def test_the_time_of_a_stacked_prefix_tells_the_node_clock() -> None:
    # kubectl logs --prefix --timestamps: the pod, the collector's UTC time, the line
    # written on a clock at UTC+01:00
    line = f"[pod/node-sdb-0/node] 2026-03-12T06:00:38.582Z {LINE.format(level='INFO', word='x')}"
    measured = layout.collector_offset((line + "\n").encode() * 3)
    assert measured is not None and measured[0] == 60


# ------------------------------------------------------------------ a whole bundle


def _written(
    case: Path, dest: Path, prefix: Callable[[str, datetime], str]
) -> dict[str, list[str]]:
    """The outputs copied to ``dest``; each node's lines behind ``prefix(node folder, the
    line's time)``, returned by node folder."""
    for table in (case / "outputs").iterdir():
        (dest / "outputs").mkdir(parents=True, exist_ok=True)
        (dest / "outputs" / table.name).write_bytes(table.read_bytes())
    out = {}
    for log in sorted(case.glob("logs/*/memsql.log")):
        lines = []
        for raw in log.read_text().splitlines():
            m = _STAMP.match(raw)
            at = datetime.fromisoformat(m[1]) if m else datetime(2026, 2, 3)
            lines.append(prefix(log.parent.name, at) + raw)
        out[log.parent.name] = lines
    return out


def _verdicts(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(v["database"], v["phase"], v["cause"]) for v in report["verdicts"]]


def _logs(report: dict[str, Any]) -> dict[str, str]:
    """Path -> host of the node of each file read as a tracelog."""
    files = report["input"]["files"]
    return {f["path"]: f["node"].split(":")[0] for f in files if f["kind"] == "memsql_log"}


def test_journald_files_are_read_on_the_hosts_they_name(case: Path, tmp_path: Path) -> None:
    """journalctl's default output, one file per host, in a folder that names no node."""
    bundle = tmp_path / "bundle"

    def journald(folder: str, at: datetime) -> str:
        return f"{at:%b %d %H:%M:%S} {HOSTS[folder]} memsqld[2211]: "

    for folder, lines in _written(case, bundle, journald).items():
        (bundle / "journal").mkdir(exist_ok=True)
        (bundle / "journal" / f"{PODS[folder]}.txt").write_text("\n".join(lines) + "\n")

    report = analyze_failed(bundle)

    assert _verdicts(report) == [("inventory", "copy", "lock_timeout")]
    assert sorted(_logs(report).values()) == sorted(HOSTS.values())
    assert not any("unknown prefix" in w for w in report["warnings"])


def test_a_syslog_file_of_several_hosts_is_read_per_host(case: Path, tmp_path: Path) -> None:
    """rsyslog's RFC 3339 times, the hosts' lines merged in one file."""
    bundle = tmp_path / "bundle"

    def rsyslog(folder: str, at: datetime) -> str:
        return f"{at:%Y-%m-%dT%H:%M:%S.%f}+00:00 {HOSTS[folder]} singlestore[2211]: "

    merged = sorted(line for lines in _written(case, bundle, rsyslog).values() for line in lines)
    (bundle / "messages").write_text("\n".join(merged) + "\n")

    report = analyze_failed(bundle)

    assert _verdicts(report) == [("inventory", "copy", "lock_timeout")]
    logs = _logs(report)
    assert sorted(logs) == sorted(f"bundle/messages#{h}" for h in HOSTS.values())
    assert sorted(logs.values()) == sorted(HOSTS.values())


def test_kubectl_prefix_and_timestamps_is_read_per_pod(case: Path, tmp_path: Path) -> None:
    """``kubectl logs -l ... --prefix --timestamps``: the pod, then the collector's time."""
    bundle = tmp_path / "bundle"

    def kubectl(folder: str, at: datetime) -> str:
        return (
            f"[pod/{HOSTS[folder]}/node] {at + timedelta(milliseconds=1):%Y-%m-%dT%H:%M:%S.%f}123Z "
        )

    merged = sorted(
        (line.split("] ", 1)[1], line)
        for lines in _written(case, bundle, kubectl).values()
        for line in lines
    )
    (bundle / "all-pods.log").write_text("\n".join(line for _, line in merged) + "\n")

    report = analyze_failed(bundle)

    assert _verdicts(report) == [("inventory", "copy", "lock_timeout")]
    assert sorted(_logs(report).values()) == sorted(HOSTS.values())


# ------------------------------------------------------------------- unknown prefixes


def test_a_tracelog_behind_an_unknown_prefix_is_named_in_a_warning(tmp_path: Path) -> None:
    lines = [
        f"<Mar 12 07:00:{i:02d}|sdb-leaf1> {LINE.format(level='INFO', word=str(i))}"
        for i in range(5)
    ]
    (tmp_path / "leaf1.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "notes.txt").write_text("the customer says the rebalance hung\n")
    plain = tmp_path / "leaf2.log"
    plain.write_text(LINE.format(level="INFO", word="started") + "\n")

    loaded = load_bundle([tmp_path])

    files = dict(loaded.files.select("path", "skipped_reason").iter_rows())
    assert files[f"{tmp_path.name}/leaf2.log"] is None
    assert "unknown prefix ('<Mar 12 07:00:00|sdb-leaf1> '" in files[f"{tmp_path.name}/leaf1.txt"]
    assert "unknown prefix" not in files[f"{tmp_path.name}/notes.txt"]
    named = [w for w in loaded.warnings if "unknown prefix" in w]
    assert len(named) == 1
    assert named[0].startswith(f"{tmp_path.name}/leaf1.txt: ")
    assert "<Mar 12 07:00:00|sdb-leaf1> " in named[0]
