"""A collector's UTC time in front of tracelog lines tells the node's clock offset
(``[collector_clock]`` in grammars/tracelog.toml)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from forensics.cli import main
from forensics.parsers.layout import collector_offset

LINE = "1036819029131 2026-02-11 {time}   INFO: Thread 7: Fn: hello"


def _kubectl(utc: str, local: str) -> bytes:
    return f"2026-02-11T{utc}Z {LINE.format(time=local)}\n".encode()


@pytest.mark.parametrize(
    ("utc", "local", "minutes"),
    [
        ("01:12:59.031422109", "03:12:59.029", 120),  # written 2 ms before it was stamped
        ("01:12:59.031", "01:12:59.029", 0),
        ("01:12:59.031", "06:42:59.029", 330),
        ("23:50:00.000", "18:50:00.000", -300),
    ],
)
def test_the_offset_is_the_difference_rounded_to_quarter_hours(
    utc: str, local: str, minutes: int
) -> None:
    measured = collector_offset(_kubectl(utc, local) * 3)
    assert measured is not None and measured[0] == minutes


def test_no_offset_when_the_times_disagree_or_are_far_from_a_step() -> None:
    assert collector_offset(_kubectl("01:00:00.000", "01:10:00.000")) is None
    mixed = _kubectl("01:00:00.000", "03:00:00.000") + _kubectl("01:00:01.000", "01:00:01.000")
    assert collector_offset(mixed) is None
    assert collector_offset(LINE.format(time="01:00:00.000").encode() + b"\n") is None


def test_a_json_time_field_tells_the_offset() -> None:
    obj = {"log": LINE.format(time="20:12:59.029") + "\n", "time": "2026-02-12T01:12:59.031Z"}
    measured = collector_offset(json.dumps(obj).encode() + b"\n", "log")
    assert measured is not None and measured[0] == -300


def _bundle(root: Path, leaf_prefix: str, leaf_hour: int) -> Path:
    """An aggregator log in UTC whose COPY fails at 15:11:50 with a leaf's error, and the
    leaf's log as `kubectl logs --timestamps` gives it, the leaf writing ``leaf_hour``."""
    ma = root / "10.0.0.10_3306" / "tracelogs" / "memsql.log"
    ma.parent.mkdir(parents=True)
    step = "COPY PARTITION events:3 TO '10.0.0.11':3306"
    lines = [
        "15:10:00.000   INFO: Thread 5: RebalanceStep: starting REBALANCE PARTITIONS ON events",
        f"15:10:00.500   INFO: Thread 5: RebalanceStep: starting {step}",
        f"15:11:50.000  ERROR: Thread 5: RebalanceStep: {step} failed: Leaf Error "
        "(10.0.0.11:3306): Leaf error",
        "15:11:50.500  ERROR: Thread 5: RebalanceStep: REBALANCE PARTITIONS ON events failed",
    ]
    ma.write_text("".join(f"{3459 + i}00000000 2026-03-05 {ln}\n" for i, ln in enumerate(lines)))
    leaf = root / "10.0.0.11_3306" / "memsql.log"
    leaf.parent.mkdir()
    leaf.write_text(
        f"{leaf_prefix}2026-03-05T15:11:00.010Z 300000 2026-03-05 {leaf_hour}:11:00.000   "
        "INFO: Thread 9: Fn: checkpoint done\n"
        f"{leaf_prefix}2026-03-05T15:11:49.002Z 300001 2026-03-05 {leaf_hour}:11:49.000  "
        "ERROR: Thread 9: Fn: `events_3` log: fsync failed: No space left on device (errno 28)\n"
    )
    return root


def _analyze(bundle: Path, *extra: str) -> dict:
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--format", "json", *extra])
    assert result.exit_code == 1, result.output
    return dict(json.loads(result.stdout))


def _causes(report: dict) -> list[tuple[str, str]]:
    return [(v["phase"], v["cause"]) for v in report["verdicts"] if v["status"] == "failure"]


def test_a_leaf_logging_local_time_behind_kubectl_timestamps_is_read_at_its_offset(
    tmp_path: Path,
) -> None:
    report = _analyze(_bundle(tmp_path, "", 17))  # UTC+2
    assert _causes(report) == [("copy", "storage_error")]
    said = [a for a in report["assumptions"] if "10.0.0.11:3306" in a]
    assert len(said) == 1 and "UTC+02:00" in said[0] and "collector" in said[0]


def test_a_tz_naming_the_node_wins_over_the_collectors_clock(tmp_path: Path) -> None:
    report = _analyze(_bundle(tmp_path, "", 17), "--tz", "10.0.0.11:3306=UTC")
    assert _causes(report) != [("copy", "storage_error")]
    assert not any("collector" in a for a in report["assumptions"])


def test_a_half_hour_offset_is_said_not_applied(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "", 20)
    leaf = bundle / "10.0.0.11_3306" / "memsql.log"
    leaf.write_text(leaf.read_text().replace(" 20:11:", " 20:41:"))  # UTC+05:30
    report = _analyze(bundle)
    said = [w for w in report["warnings"] if "UTC+05:30" in w]
    assert len(said) == 1 and "--tz 10.0.0.11:3306=" in said[0]
