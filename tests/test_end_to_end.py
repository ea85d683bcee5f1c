"""End to end: the CLI on every fixture bundle, checked against its expected.json."""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from forensics.cli import main
from forensics.report import json as json_report

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SCENARIOS = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.json").is_file())
IMPACT_FIELDS = (
    "redundancy",
    "redundancy_assumed",
    "partitions",
    "partitions_without_master",
    "under_redundant",
    "over_redundant",
    "orphans",
    "extra_copies",
    "extra_bytes_estimate",
)


def bundle_path(scenario: str) -> Path:
    return FIXTURES / scenario


@cache
def run(scenario: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["analyze", str(bundle_path(scenario)), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def expected(scenario: str) -> dict[str, Any]:
    return json.loads((FIXTURES / scenario / "expected.json").read_text())


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_verdict(scenario: str) -> None:
    code, report = run(scenario)
    want = expected(scenario)
    got = {v["database"]: v for v in report["verdicts"]}
    for verdict in want["verdicts"]:
        actual = got.get(verdict["database"])
        assert actual is not None, f"no verdict for {verdict['database']}: {report['verdicts']}"
        assert {k: actual[k] for k in ("status", "phase", "cause")} == {
            k: verdict[k] for k in ("status", "phase", "cause")
        }, actual["summary"]
    wanted_failures = {v["database"] for v in want["verdicts"] if v["status"] == "failure"}
    false_failures = [
        v
        for v in report["verdicts"]
        if v["status"] == "failure" and v["database"] not in wanted_failures
    ]
    assert not false_failures
    assert code == want["exit_code"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_contributing_factors(scenario: str) -> None:
    _, report = run(scenario)
    factors = {f["factor"] for f in report["findings"] if f["role"] == "contributing"}
    assert set(expected(scenario).get("contributing", [])) <= factors


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_impact(scenario: str) -> None:
    _, report = run(scenario)
    want = expected(scenario)["impact"]
    got = report["impact"]
    if want is None:
        assert got is None
        return
    assert got is not None
    assert got["data_at_risk"] == want["data_at_risk"]
    assert got["extra_bytes_estimate"] == want["extra_bytes_estimate"]
    actual = {d["database"]: d for d in got["databases"]}
    for db in want["databases"]:
        assert db["database"] in actual
        assert {k: actual[db["database"]][k] for k in IMPACT_FIELDS} == {
            k: db[k] for k in IMPACT_FIELDS
        }


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_runbook_gates(scenario: str) -> None:
    _, report = run(scenario)
    blocked = sorted(s["step"] for s in report["recovery"] if s["blocked_by"])
    want = expected(scenario)["recovery"]["blocked_steps"]
    assert [s for s in blocked if s == 5] == [s for s in want if s == 5]
    assert set(want) <= set(blocked)
    assert [s["step"] for s in report["recovery"]] == [1, 2, 3, 4, 5]


def test_bundle_without_snapshot_still_gets_a_runbook(tmp_path: Path) -> None:
    source = FIXTURES / "logs_only_promote_failure"
    for log in source.glob("*_memsql.log"):
        (tmp_path / log.name).write_bytes(log.read_bytes())
    result = CliRunner().invoke(main, ["analyze", str(tmp_path), "--format", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["impact"] is None
    assert any("impact not computed" in w for w in report["warnings"])
    assert [s["step"] for s in report["recovery"]] == [1, 2, 3, 4, 5]
    assert report["recovery"][4]["blocked_by"]
    assert [(v["phase"], v["cause"]) for v in report["verdicts"] if v["status"] == "failure"] == [
        ("promote", "lock_timeout")
    ]


def test_exit_code_zero_when_nothing_failed() -> None:
    code, report = run("rebalance_success")
    assert code == 0
    assert all(v["status"] == "no_failure" for v in report["verdicts"])


def test_plan_vs_actual_names_the_failed_step_and_its_residue() -> None:
    _, report = run("drop_storage_error")
    kinds = {(p["kind"], p["database"], p["ordinal"]) for p in report["plan_vs_actual"]}
    assert ("failed", "events", 1) in kinds
    assert ("residue", "events", 1) in kinds
    assert any(p["kind"] == "not_run" for p in report["plan_vs_actual"])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_failed_status_step_is_in_plan_vs_actual(scenario: str) -> None:
    _, report = run(scenario)
    failed = {
        (rb["database"], s["ordinal"], s["phase_kind"])
        for rb in report["rebalances"]
        for s in rb["steps"]
        if s["status"] == "failed" and s["origin"] == "status"
    }
    listed = {
        (p["database"], p["ordinal"], p["phase_kind"])
        for p in report["plan_vs_actual"]
        if p["kind"] == "failed"
    }
    assert failed <= listed


def _small_bundle(root: Path, leaf_line: str, snapshot: bool) -> Path:
    """An MA log with a failed COPY of events:3 to 10.0.0.14, a source-leaf log holding
    ``leaf_line`` at the moment of the failure, and maybe SHOW PARTITIONS ON events."""
    ma = root / "10.0.0.10_3306" / "memsql.log"
    leaf = root / "10.0.0.11_3306" / "memsql.log"
    ma.parent.mkdir(parents=True)
    leaf.parent.mkdir(parents=True)
    ma.write_text(
        "100000 2026-03-05 14:10:00.000   INFO: Thread 5: Rebalance: REBALANCE PARTITIONS ON events starting\n"
        "100001 2026-03-05 14:10:01.000   INFO: Thread 5: Rebalance: COPY PARTITION events:3 to '10.0.0.14':3306 started\n"
        "100002 2026-03-05 14:11:52.500  ERROR: Thread 5: Rebalance: COPY PARTITION events:3 to '10.0.0.14':3306 failed\n"
        "100003 2026-03-05 14:11:52.600  ERROR: Thread 5: Rebalance: REBALANCE PARTITIONS ON events failed\n"
    )
    leaf.write_text(f"300000 2026-03-05 14:11:52.000  ERROR: Thread 9: Fn: {leaf_line}\n")
    if snapshot:
        rows = "".join(
            f"| {o:7d} | 10.0.0.11 | 3306 | Master |      0 |\n"
            f"| {o:7d} | 10.0.0.12 | 3306 | Replica|      0 |\n"
            for o in range(8)
        )
        border = "+---------+-----------+------+--------+--------+\n"
        (root / "partitions.txt").write_text(
            "mysql> SHOW PARTITIONS ON events;\n" + border
            + "| Ordinal | Host      | Port | Role   | Locked |\n" + border + rows + border
        )  # fmt: skip
    return root


def _causes(bundle: Path) -> list[tuple[str | None, str | None]]:
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--format", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    return [(v["phase"], v["cause"]) for v in report["verdicts"] if v["status"] == "failure"]


def test_a_date_suffixed_database_is_not_a_partition_of_the_failing_one(tmp_path: Path) -> None:
    """`events_2025` is a database of its own when SHOW PARTITIONS lists events' eight
    partitions; its lock timeout is no evidence about events:3. Without the snapshot the
    name is ambiguous; `events_5` within the snapshot stays a partition of events."""
    timeout = "Error 1205: Lock wait timeout exceeded; try restarting transaction"
    dated = _small_bundle(tmp_path / "a", f"`events_2025` log: {timeout}", snapshot=True)
    assert _causes(dated) == [("copy", "unknown")]
    own = _small_bundle(tmp_path / "b", f"`eventsarchive` log: {timeout}", snapshot=False)
    assert _causes(own) == [("copy", "unknown")]
    partition = _small_bundle(tmp_path / "c", f"`events_3` log: {timeout}", snapshot=True)
    assert _causes(partition) == [("copy", "lock_timeout")]


def test_runbook_step_one_names_the_failed_step() -> None:
    """Step 1 of the runbook says which step failed, as the verdict's summary does."""
    _, report = run("copy_out_of_memory")
    step1 = report["recovery"][0]["detail"]
    assert "in the copy phase (COPY PARTITION orders:7 on 10.0.1.14:3306)" in step1
    error = step1.split(" Error: ", 1)[1].split("\n", 1)[0]
    assert error.endswith((".", "!", "?"))  # (rendered on one line with the next sentence)
    assert "COPY PARTITION orders:7 on 10.0.1.14:3306" in report["verdicts"][0]["summary"]


def _ma_only(root: Path, lines: list[str]) -> dict[str, Any]:
    """Analyse a bundle of one master-aggregator log made of ``lines`` (time, level, text)."""
    log = root / "10.0.0.10_3306_memsql.log"
    root.mkdir(parents=True)
    log.write_text("".join(f"{1000 + i} 2026-03-13 {line}\n" for i, line in enumerate(lines)))
    result = CliRunner().invoke(main, ["analyze", str(root), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    assert report["exit_code"] == result.exit_code
    return report


def _verdicts(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(v["database"], v["status"], v["phase"], v["cause"]) for v in report["verdicts"]]


OOM = "Leaf Error (10.0.0.14:3306): Not enough memory available to complete the current request."


def test_a_failed_run_retried_successfully_keeps_its_cause_as_history(tmp_path: Path) -> None:
    """The ticket is about the failure: its phase and cause are reported (as scan does),
    marked as an earlier run whose retry succeeded; nothing is left to recover."""
    report = _ma_only(
        tmp_path / "r",
        [
            "10:00:00.000   INFO: Thread 5: REBALANCE PARTITIONS ON sales started",
            "10:00:01.000   INFO: Thread 5: COPY PARTITION sales:3 to '10.0.0.14':3306 started",
            f"10:00:39.000  ERROR: Thread 5: COPY PARTITION sales:3 to '10.0.0.14':3306 failed: {OOM}",
            "10:00:39.020  ERROR: Thread 5: REBALANCE PARTITIONS ON sales failed",
            "11:05:00.000   INFO: Thread 6: REBALANCE PARTITIONS ON sales started",
            "11:05:01.000   INFO: Thread 6: COPY PARTITION sales:3 to '10.0.0.14':3306 started",
            "11:05:41.000   INFO: Thread 6: COPY PARTITION sales:3 to '10.0.0.14':3306 completed",
            "11:05:42.000   INFO: Thread 6: REBALANCE PARTITIONS ON sales completed",
        ],
    )
    assert _verdicts(report) == [
        ("sales", "failure", "copy", "out_of_memory"),
        ("sales", "no_failure", None, None),
    ]
    earlier = report["verdicts"][0]
    assert earlier["later_run"] == "succeeded"
    assert earlier["later_run_start"].startswith("2026-03-13T11:05:00")
    step1 = report["recovery"][0]["detail"]
    assert "Earlier run" in step1 and "out_of_memory" in step1 and "succeeded" in step1
    assert "Nothing is failing now" in step1
    assert report["exit_code"] == 1  # a failure was found, though retried


def test_a_failure_line_naming_no_database_is_still_a_failure(tmp_path: Path) -> None:
    """REBALANCE ALL DATABASES failing with nothing else in the log: a failure (database
    unknown) with its cause, not "no rebalance found" and exit 0."""
    report = _ma_only(
        tmp_path / "r",
        [f"14:31:30.000  ERROR: Thread 5: Rebalancer: REBALANCE ALL DATABASES failed: {OOM}"],
    )
    assert _verdicts(report) == [(None, "failure", None, "out_of_memory")]
    assert report["exit_code"] == 1
    validator = jsonschema.Draft202012Validator(json_report.schema())
    assert not list(validator.iter_errors(report))


def test_a_database_less_failure_does_not_fail_a_database_that_succeeded(tmp_path: Path) -> None:
    report = _ma_only(
        tmp_path / "r",
        [
            "14:30:00.000   INFO: Thread 5: REBALANCE PARTITIONS ON sales started",
            "14:30:00.100   INFO: Thread 5: REBALANCE PARTITIONS ON crm started",
            "14:30:10.000   INFO: Thread 5: REBALANCE PARTITIONS ON sales completed",
            "14:30:20.000  ERROR: Thread 5: COPY PARTITION crm:2 to '10.0.0.14':3306 failed: "
            "Query execution was interrupted (error 1317)",
            "14:30:26.000  ERROR: Thread 5: REBALANCE ALL DATABASES failed: 1 of 2 databases failed",
        ],
    )
    assert _verdicts(report) == [
        ("crm", "failure", "copy", "kill"),
        ("sales", "no_failure", None, None),
    ]


def test_step_outcome_wordings(tmp_path: Path) -> None:
    """ "succeeded after 1 retry (first attempt failed ...)" is a success; "did not
    complete" is a failure (not the success word "complete")."""
    retried = _ma_only(
        tmp_path / "a",
        [
            "10:00:00.000   INFO: Thread 5: REBALANCE PARTITIONS ON sales started",
            "10:00:01.000   INFO: Thread 5: COPY PARTITION sales:3 to '10.0.0.14':3306 started",
            "10:00:20.000   INFO: Thread 5: COPY PARTITION sales:3 to '10.0.0.14':3306 succeeded "
            "after 1 retry (first attempt failed: Connection reset by peer)",
            "10:00:21.000   INFO: Thread 5: REBALANCE PARTITIONS ON sales completed successfully",
        ],
    )
    assert _verdicts(retried) == [("sales", "no_failure", None, None)]
    stalled = _ma_only(
        tmp_path / "b",
        [
            "10:00:00.000   INFO: Thread 5: REBALANCE PARTITIONS ON sales started",
            "10:00:01.000   INFO: Thread 5: COPY PARTITION sales:6 to '10.0.0.14':3306 started",
            "10:10:01.000   WARN: Thread 5: COPY PARTITION sales:6 to '10.0.0.14':3306 did not "
            "complete within 600 s",
            "10:10:02.000  ERROR: Thread 5: REBALANCE PARTITIONS ON sales failed",
        ],
    )
    assert _verdicts(stalled) == [("sales", "failure", "copy", "unknown")]


def test_a_rebalance_still_running_blocks_the_retry_and_the_cleanup(tmp_path: Path) -> None:
    report = _ma_only(
        tmp_path / "r",
        [
            "10:00:00.000   INFO: Thread 5: REBALANCE PARTITIONS ON sales started",
            "10:00:01.000   INFO: Thread 5: COPY PARTITION sales:3 to '10.0.0.14':3306 started",
        ],
    )
    assert _verdicts(report) == [("sales", "inconclusive", None, None)]
    assert report["exit_code"] == 1  # an unfinished rebalance is a risk, not "nothing wrong"
    steps = {s["step"]: s for s in report["recovery"]}
    assert "still running" in steps[3]["detail"]
    assert steps[4]["blocked_by"] and "still running" in steps[4]["blocked_by"]
    assert steps[5]["blocked_by"] and "still running" in steps[5]["blocked_by"]


def test_show_variables_belongs_to_the_node_of_its_folder(tmp_path: Path) -> None:
    """redundancy_level 2 on the master aggregator and 1 on a leaf: the conflict is said
    and the master aggregator's value is used."""
    root = tmp_path / "b"
    for node, value in (("10.0.0.10_3306", 2), ("10.0.0.11_3306", 1)):
        (root / node).mkdir(parents=True)
        (root / node / "vars.txt").write_text(
            "mysql> SHOW VARIABLES LIKE 'redundancy_level';\n"
            "+------------------+-------+\n| Variable_name    | Value |\n"
            "+------------------+-------+\n"
            f"| redundancy_level | {value}     |\n+------------------+-------+\n"
        )
    (root / "10.0.0.10_3306" / "memsql.log").write_text(
        "100 2026-03-05 10:00:00.000   INFO: Thread 5: REBALANCE PARTITIONS ON sales started\n"
        "101 2026-03-05 10:00:09.000  ERROR: Thread 5: REBALANCE PARTITIONS ON sales failed\n"
    )
    result = CliRunner().invoke(main, ["analyze", str(root), "--format", "json"])
    report = json.loads(result.stdout)
    assert any(
        "redundancy_level differs between nodes (1, 2): using 2 (the master aggregator" in w
        for w in report["warnings"]
    ), report["warnings"]


def test_a_cause_given_only_on_a_continuation_line_is_found(tmp_path: Path) -> None:
    """Error detail logged on the indented lines under an error line is part of that
    event: the out-of-memory cause below is named only there."""
    detail = (
        "`events_3` log: snapshot apply stopped:\n"
        "    Leaf Error (10.0.0.14:3306): ERROR 1712 (HY000): Not enough memory available\n"
        "    to complete the current request."
    )
    assert _causes(_small_bundle(tmp_path / "a", detail, snapshot=True)) == [
        ("copy", "out_of_memory")
    ]


def _ma_log(root: Path, lines: list[str]) -> Path:
    log = root / "10.0.0.10_3306" / "tracelogs" / "memsql.log"
    log.parent.mkdir(parents=True)
    log.write_text(
        "".join(f"{3459 + i}00000000 2026-03-10 {line}\n" for i, line in enumerate(lines))
    )
    return root


def _failed_copy_with_leaf(
    root: Path, partition: str, times: tuple[str, str], error: str, leaf_log: str
) -> Path:
    """An aggregator log whose COPY of ``partition`` to 10.0.1.14 fails at ``times[1]``
    with the leaf's ``error``, and that leaf's own log."""
    database = partition.split(":")[0]
    step = f"COPY PARTITION {partition} TO '10.0.1.14':3306"
    bundle = _ma_log(
        root,
        [
            f"{times[0]}.000   INFO: Thread 5: RebalanceStep: starting REBALANCE PARTITIONS ON {database}",
            f"{times[0]}.500   INFO: Thread 5: RebalanceStep: starting {step}",
            f"{times[1]}.000  ERROR: Thread 5: RebalanceStep: {step} failed: Leaf Error (10.0.1.14:3306): {error}",
            f"{times[1]}.500  ERROR: Thread 5: RebalanceStep: REBALANCE PARTITIONS ON {database} failed",
        ],
    )
    leaf = bundle / "10.0.1.14_3306" / "tracelogs" / "memsql.log"
    leaf.parent.mkdir(parents=True)
    leaf.write_text(leaf_log)
    return bundle


def _report(bundle: Path) -> dict[str, Any]:
    """The JSON report of ``forensics analyze`` on ``bundle``."""
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--format", "json"])
    return dict(json.loads(result.stdout))


def _cli_verdicts(bundle: Path) -> tuple[int, list[tuple[Any, ...]]]:
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    rows = [(v["database"], v["status"], v["phase"], v["cause"]) for v in report["verdicts"]]
    return result.exit_code, rows


def test_a_year_suffixed_database_is_one_database_without_any_snapshot(tmp_path: Path) -> None:
    """`events_2024` is no partition 2024 of `events`: no phantom rebalance of `events`
    blamed on the lock timeout that database had minutes before."""
    bundle = _ma_log(
        tmp_path,
        [
            "02:01:00.000  ERROR: Thread 9: Fn: `events` log: Error 1205: Lock wait timeout exceeded",
            "02:05:00.000   INFO: Thread 5: Rebalance: started rebalance of `events_2024` (1 step)",
            "02:05:00.300   INFO: Thread 5: Rebalance: step 1 of 1 (PROMOTE PARTITION events_2024:3, target '10.0.0.14':3306) started",
            "02:06:24.600  ERROR: Thread 5: Rebalance: step 1 of 1 (PROMOTE PARTITION events_2024:3, target '10.0.0.14':3306) failed: Leaf Error (10.0.0.14:3306): Lock wait timeout exceeded",
            "02:06:24.603  ERROR: Thread 5: Rebalance: rebalance of `events_2024` aborted in phase 2",
        ],
    )
    assert _cli_verdicts(bundle) == (1, [("events_2024", "failure", "promote", "lock_timeout")])


def test_a_summary_counting_zero_failures_is_a_success(tmp_path: Path) -> None:
    bundle = _ma_log(
        tmp_path,
        [
            "02:05:00.000   INFO: Thread 5: Rebalance: started rebalance of `sales` (1 step)",
            "02:05:00.300   INFO: Thread 5: Rebalance: step 1 of 1 (COPY PARTITION sales:3, target '10.0.0.14':3306) started",
            "02:05:40.300   INFO: Thread 5: Rebalance: step 1 of 1 (COPY PARTITION sales:3, target '10.0.0.14':3306) done",
            "02:05:41.000   INFO: Thread 5: Rebalance: rebalance of `sales` finished: 1 step succeeded, 0 failed, 0 errors",
        ],
    )
    assert _cli_verdicts(bundle) == (0, [("sales", "no_failure", None, None)])


_BARE_STATUS = """\
+----------------+---------+-------------+-------------+-------+---------+--------------+
| Action         | Ordinal | Target_Host | Target_Port | Phase | Status  | Running_Time |
+----------------+---------+-------------+-------------+-------+---------+--------------+
| COPY PARTITION |       1 | 10.3.0.13   |        3306 |     1 | success |         1000 |
| COPY PARTITION |       2 | 10.3.0.13   |        3306 |     1 | failed  |         4000 |
+----------------+---------+-------------+-------------+-------+---------+--------------+
2 rows in set (0.00 sec)
"""


def test_a_status_table_naming_no_database_still_gives_its_failure(tmp_path: Path) -> None:
    """A status table pasted without its statement: its failed step is a failure (of
    the only database the bundle names, or of an unnamed one), never "no rebalance"."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "rebalance_status.txt").write_text(_BARE_STATUS)
    result = CliRunner().invoke(main, ["analyze", str(tmp_path / "a"), "--format", "json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 1
    assert [(v["database"], v["status"], v["phase"]) for v in report["verdicts"]] == [
        (None, "failure", "copy")
    ]
    blocked = {s["step"] for s in report["recovery"] if s["blocked_by"]}
    assert {4, 5} <= blocked
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "rebalance_status.txt").write_text(_BARE_STATUS)
    (tmp_path / "b" / "partitions.txt").write_text(
        "mysql> SHOW PARTITIONS ON geo;\n"
        "+---------+-----------+------+--------+--------+\n"
        "| Ordinal | Host      | Port | Role   | Locked |\n"
        "+---------+-----------+------+--------+--------+\n"
        "|       1 | 10.3.0.13 | 3306 | Master |      0 |\n"
        "|       2 | 10.3.0.11 | 3306 | Master |      0 |\n"
        "+---------+-----------+------+--------+--------+\n"
    )
    result = CliRunner().invoke(main, ["analyze", str(tmp_path / "b"), "--format", "json"])
    report = json.loads(result.stdout)
    assert [(v["database"], v["status"]) for v in report["verdicts"]] == [("geo", "failure")]
    assert any("name no database: read as geo's" in w for w in report["warnings"])


def test_evidence_a_whole_hour_off_suggests_a_time_zone(tmp_path: Path) -> None:
    """The leaf logs local time (UTC+1), the aggregator UTC: its disk-full line is an hour
    'late'. The tool cannot know which is right, but it says what to try."""
    bundle = _small_bundle(tmp_path / "a", "ok", snapshot=False)
    leaf = bundle / "10.0.0.11_3306" / "memsql.log"
    leaf.write_text(
        "300000 2026-03-05 15:11:51.000  ERROR: Thread 9: Fn: `events_3` log: "
        "fsync failed: No space left on device (errno 28)\n"
    )
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--format", "json"])
    report = json.loads(result.stdout)
    hints = [w for w in report["warnings"] if "--tz 10.0.0.11:3306=" in w]
    assert len(hints) == 1 and "storage_error" in hints[0] and "after the failure" in hints[0]
    shifted = CliRunner().invoke(
        main, ["analyze", str(bundle), "--format", "json", "--tz", "10.0.0.11:3306=+01:00"]
    )
    assert _causes_of(json.loads(shifted.stdout)) == [("copy", "storage_error")]


def _causes_of(report: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    return [(v["phase"], v["cause"]) for v in report["verdicts"] if v["status"] == "failure"]


def test_a_declared_partition_count_reveals_missing_last_partitions(tmp_path: Path) -> None:
    """SHOW PARTITIONS lists ordinals 0-2; DISTRIBUTED_DATABASES says 4 partitions: the
    last one has no copy left, so it has no master and cleanup stays blocked."""
    border = "+---------+-----------+------+--------+--------+\n"
    rows = "".join(f"| {o:7d} | 10.0.0.11 | 3306 | Master |      0 |\n" for o in range(3))
    (tmp_path / "partitions.txt").write_text(
        "mysql> SHOW PARTITIONS ON fin;\n" + border
        + "| Ordinal | Host      | Port | Role   | Locked |\n" + border + rows + border
        + "\nmysql> SELECT DATABASE_NAME, NUM_PARTITIONS FROM information_schema.DISTRIBUTED_DATABASES;\n"
        "+---------------+----------------+\n| DATABASE_NAME | NUM_PARTITIONS |\n"
        "+---------------+----------------+\n| fin           |              4 |\n"
        "+---------------+----------------+\n"
    )  # fmt: skip
    report = _report(tmp_path)
    (db,) = report["impact"]["databases"]
    assert (db["partitions"], db["partitions_without_master"]) == (4, [3])
    assert report["impact"]["data_at_risk"] is True and report["exit_code"] == 1


@pytest.mark.parametrize(
    ("killed", "reason", "cause"),
    [
        (52011, ": Leaf Error (10.0.1.14:3306): Error 2013: Lost connection", "network_error"),
        (52011, "", "unknown"),
        (31337, "", "kill"),
    ],
)
def test_a_kill_of_another_connection_is_no_cause(
    tmp_path: Path, killed: int, reason: str, cause: str
) -> None:
    """SPEC §4.4: a killed user query unrelated to the step must not win. The rebalance's
    lines run on connection 31337; a watchdog kills query 52011 two seconds before."""
    rb = "Thread 5 (ntid 399, conn id 31337): RebalanceStep:"
    bundle = _ma_log(
        tmp_path,
        [
            f"05:15:00.000   INFO: {rb} starting REBALANCE PARTITIONS ON sales",
            f"05:15:31.300   INFO: {rb} starting COPY PARTITION sales:4 TO '10.0.1.14':3306",
            f"05:18:29.300   INFO: Thread 6 (ntid 12, conn id 96236): KillQuery: KILL QUERY {killed} received from 'watchdog'@'10.0.9.14'",
            f"05:18:31.300  ERROR: {rb} COPY PARTITION sales:4 TO '10.0.1.14':3306 failed{reason}",
            f"05:18:31.800  ERROR: {rb} REBALANCE PARTITIONS ON sales failed",
        ],
    )
    assert _cli_verdicts(bundle) == (1, [("sales", "failure", "copy", cause)])


def test_the_failed_steps_own_error_wins_a_tie_with_a_leaf_line(tmp_path: Path) -> None:
    """The aggregator's failure line says out of memory; the target leaf logged a user
    transaction's lock timeout on the same partition 20 s before. Both agree as well with
    the step; the error the step itself returned decides."""
    bundle = _failed_copy_with_leaf(
        tmp_path,
        "orders:5",
        ("02:10:00", "02:12:11"),
        "Not enough memory available to complete the current request.",
        "500 2026-03-10 02:11:51.000  ERROR: Thread 9: ExecuteQuery: UPDATE on `orders_5` rolled "
        "back: Lock wait timeout exceeded; try restarting transaction (error 1205)\n",
    )
    assert _cli_verdicts(bundle) == (1, [("orders", "failure", "copy", "out_of_memory")])


def test_an_idle_leaf_that_crashed_is_dated_by_its_downtime(tmp_path: Path) -> None:
    """The target leaf logged nothing for two hours, then came back 31 s after the copy
    to it failed: it was down when the step failed, so the restart is the cause and the
    lost connection its symptom."""
    bundle = _failed_copy_with_leaf(
        tmp_path,
        "inventory:2",
        ("09:05:00", "09:12:06"),
        "Lost connection to MySQL server during query",
        "1059537737000 2026-03-10 07:04:57.737   INFO: Thread 7: ReplicationManagement: verified 55 partition instances\n"
        "01000000 2026-03-10 09:12:37.300   INFO: Completed recovery of system databases.\n",
    )
    assert _cli_verdicts(bundle) == (1, [("inventory", "failure", "copy", "node_failure")])


def test_an_aggregator_restart_in_the_middle_of_a_copy_ends_the_rebalance(tmp_path: Path) -> None:
    """The aggregator that ran the rebalance restarted during COPY, and logged for hours
    after without a rebalance line: not 'still running' (wait forever), but failed there."""
    log = tmp_path / "10.0.1.10_3306" / "tracelogs" / "memsql.log"
    log.parent.mkdir(parents=True)
    log.write_text(
        "900000000000 2026-03-11 03:00:00.000   INFO: Thread 5: RebalanceStep: starting REBALANCE PARTITIONS ON sales\n"
        "900001000000 2026-03-11 03:00:01.000   INFO: Thread 5: RebalanceStep: starting COPY PARTITION sales:6 TO '10.0.1.14':3306\n"
        "900080000000 2026-03-11 03:01:20.000   INFO: Thread 7: ReplicationManagement: verified 55 partition instances\n"
        "01000000 2026-03-11 03:04:10.000   INFO: Completed recovery of system databases.\n"
        "99000000000 2026-03-11 11:00:00.000   INFO: Thread 7: ReplicationManagement: verified 55 partition instances\n"
    )
    exit_code, verdicts = _cli_verdicts(tmp_path)
    assert (exit_code, verdicts) == (1, [("sales", "failure", "copy", "node_failure")])
    report = _report(tmp_path)
    assert not any("still running" in (s["blocked_by"] or "") for s in report["recovery"])


def _stale_failed_status(root: Path, retry: list[str]) -> Path:
    """A first run of web whose COPY web:2 failed at 09:01, the ``retry`` lines after it,
    and a status output (no time) that shows that COPY failed."""
    bundle = _ma_log(
        root,
        [
            "09:00:00.000   INFO: Thread 5: RebalanceStep: starting REBALANCE PARTITIONS ON web",
            "09:00:01.000   INFO: Thread 5: RebalanceStep: starting COPY PARTITION web:2 TO '10.0.1.14':3306",
            "09:01:01.300  ERROR: Thread 5: RebalanceStep: COPY PARTITION web:2 TO '10.0.1.14':3306 failed: ETIMEDOUT",
            "09:01:01.800  ERROR: Thread 5: RebalanceStep: REBALANCE PARTITIONS ON web failed",
            *retry,
        ],
    )
    (bundle / "status.txt").write_text(
        "mysql> SHOW REBALANCE STATUS ON web;\n"
        "+----------------+---------+-------------+-------------+-------+--------+--------------+\n"
        "| Action         | Ordinal | Target_Host | Target_Port | Phase | Status | Running_Time |\n"
        "+----------------+---------+-------------+-------------+-------+--------+--------------+\n"
        "| COPY PARTITION |       2 | 10.0.1.14   |        3306 |     1 | failed |        60300 |\n"
        "+----------------+---------+-------------+-------------+-------+--------+--------------+\n"
    )
    return bundle


def test_a_status_output_of_an_earlier_failed_run_does_not_hide_the_retry(
    tmp_path: Path,
) -> None:
    """The status output (no time) shows COPY web:2 failed, as the first run in the logs
    did; the logs then show a retry that succeeded: the retry is the current state."""
    bundle = _stale_failed_status(
        tmp_path,
        [
            "11:30:00.000   INFO: Thread 6: RebalanceStep: starting REBALANCE PARTITIONS ON web",
            "11:30:01.000   INFO: Thread 6: RebalanceStep: starting COPY PARTITION web:2 TO '10.0.1.14':3306",
            "11:30:31.000   INFO: Thread 6: RebalanceStep: COPY PARTITION web:2 TO '10.0.1.14':3306 succeeded",
            "11:30:35.000   INFO: Thread 6: RebalanceStep: REBALANCE PARTITIONS ON web completed",
        ],
    )
    report = _report(bundle)
    runs = [(v["status"], v["cause"], v["later_run"]) for v in report["verdicts"]]
    assert runs == [("failure", "network_error", "succeeded"), ("no_failure", None, None)]


def test_a_bundle_without_the_aggregators_log_says_so(tmp_path: Path) -> None:
    (tmp_path / "status.txt").write_text("mysql> SHOW REBALANCE STATUS ON geo;\n" + _BARE_STATUS)
    leaf = tmp_path / "10.3.0.13_3306" / "tracelogs" / "memsql.log"
    leaf.parent.mkdir(parents=True)
    leaf.write_text("500 2026-03-10 02:11:51.000   WARN: Thread 9: Fn: disk almost full\n")
    report = _report(tmp_path)
    assert any("master aggregator's memsql.log is likely missing" in w for w in report["warnings"])
    ma = _small_bundle(tmp_path / "b", "ok", snapshot=False)
    report = _report(ma)
    assert not any("likely missing" in w for w in report["warnings"])


def test_a_failed_step_beside_a_running_one_still_blocks_retry_and_cleanup(
    tmp_path: Path,
) -> None:
    (tmp_path / "status.txt").write_text(
        "mysql> SHOW REBALANCE STATUS ON ledger;\n"
        + _BARE_STATUS.replace("| success |", "| running |")
    )
    report = _report(tmp_path)
    assert [(v["database"], v["status"]) for v in report["verdicts"]] == [("ledger", "failure")]
    steps = {s["step"]: s for s in report["recovery"]}
    assert "still running" in steps[4]["blocked_by"] and "still running" in steps[5]["blocked_by"]


def test_a_retry_still_running_in_the_logs_outranks_the_failed_status_of_the_first_run(
    tmp_path: Path,
) -> None:
    bundle = _stale_failed_status(
        tmp_path,
        [
            "18:30:00.000   INFO: Thread 6: RebalanceStep: starting REBALANCE PARTITIONS ON web",
            "18:30:01.000   INFO: Thread 6: RebalanceStep: starting COPY PARTITION web:2 TO '10.0.1.14':3306",
        ],
    )
    report = _report(bundle)
    runs = [(v["database"], v["status"], v["later_run"]) for v in report["verdicts"]]
    assert runs == [("web", "failure", "running"), ("web", "inconclusive", None)]
    steps = {s["step"]: s for s in report["recovery"]}
    assert "still running" in steps[4]["blocked_by"] and "still running" in steps[5]["blocked_by"]


def test_error_lines_about_a_rebalance_in_an_unknown_wording_are_not_no_rebalance(
    tmp_path: Path,
) -> None:
    """The steps could not be read, but error lines talk about a rebalance: the verdict
    says so (inconclusive, exit 1) instead of 'no rebalance was found' (exit 0)."""
    bundle = _ma_log(
        tmp_path,
        [
            '02:05:00.000   INFO: Thread 5: Orchestrator: {"event":"rebalance_started","db":"sales"}',
            '02:06:00.000  ERROR: Thread 5: Orchestrator: {"event":"rebalance_aborted","db":"sales"}',
        ],
    )
    report = _report(bundle)
    assert [v["status"] for v in report["verdicts"]] == ["inconclusive"]
    assert report["exit_code"] == 1
    assert any("wording may be one this tool does not know" in w for w in report["warnings"])


def _rotated_target(root: Path, newer_start_us: int) -> Path:
    """An MA log whose COPY of sales:2 to 10.0.0.14 fails with a lost connection, and
    that leaf's log in two rotations: memsql.log.1 ends during the copy; memsql.log
    goes on 40 s later, its counter at ``newer_start_us`` µs."""
    ma = root / "10.0.0.10_3306" / "memsql.log"
    leaf = root / "10.0.0.14_3306"
    ma.parent.mkdir(parents=True)
    leaf.mkdir(parents=True)
    ma.write_text(
        "500000000 2026-02-11 03:00:00.000   INFO: Thread 5: Rebalance: REBALANCE PARTITIONS ON sales starting\n"
        "500100000 2026-02-11 03:00:01.000   INFO: Thread 5: Rebalance: COPY PARTITION sales:2 to '10.0.0.14':3306 started\n"
        "560000000 2026-02-11 03:01:00.000  ERROR: Thread 5: Rebalance: COPY PARTITION sales:2 to '10.0.0.14':3306 failed: "
        "Leaf Error (10.0.0.14:3306): Lost connection to MySQL server during query\n"
    )  # fmt: skip
    (leaf / "memsql.log.1").write_text(
        "259200000000 2026-02-11 02:59:00.000   INFO: Thread 9: Fn: heartbeat answered\n"
        "259259000000 2026-02-11 02:59:59.000   INFO: Thread 9: Fn: heartbeat answered\n"
    )
    (leaf / "memsql.log").write_text(
        f"{newer_start_us} 2026-02-11 03:00:40.000   INFO: Thread 1: Fn: heartbeat answered\n"
        f"{newer_start_us + 5_000_000} 2026-02-11 03:00:45.000   INFO: Thread 1: Fn: heartbeat answered\n"
    )
    return root


def test_a_restart_between_two_rotations_of_a_log_is_found(tmp_path: Path) -> None:
    """The leaf crashed and its new process started a new memsql.log after the rotation:
    the counter's reset lies between the files. It is a restart (node_failure explains
    the lost connection); the same process going on in the next file is none."""
    crashed = _report(_rotated_target(tmp_path / "a", newer_start_us=650_000))
    nodes = {n["node"]: n["restarts"] for n in crashed["nodes"]}
    assert nodes["10.0.0.14:3306"] == 1
    assert _causes_of(crashed) == [("copy", "node_failure")]
    went_on = _report(_rotated_target(tmp_path / "b", newer_start_us=259_300_000_000))
    assert {n["node"]: n["restarts"] for n in went_on["nodes"]}["10.0.0.14:3306"] == 0
    assert _causes_of(went_on) == [("copy", "network_error")]


def _stepped_clock_bundle(root: Path, times: list[str]) -> Path:
    """An MA log of a failed copy whose wall clock goes back between the step's start and
    its failure (``times``: the six lines' local times); the counter goes on."""
    texts = [
        "   INFO: Thread 115001: Heartbeat: node [5] 10.0.0.14:3306 answered in 0.31 ms",
        "   INFO: Thread 115334: Beginning rebalance of database `orders`: 2 steps planned",
        "   INFO: Thread 115334: Step 1/2: copying partition orders:5 on 10.0.0.14:3306 started",
        "   WARN: Thread 115061: Clock: system time moved backwards",
        "  ERROR: Thread 115334: Step 1/2: copying partition `orders_5` on node [5] 10.0.0.14:3306 "
        "aborted: Leaf Error (10.0.0.14:3306): ERROR 1712 (HY000): Not enough memory available "
        "to complete the current request.",
        "  ERROR: Thread 115334: Rebalance of database `orders` failed; the remaining 1 steps "
        "were cancelled",
    ]
    log = root / "10.0.0.10_3306" / "memsql.log"
    log.parent.mkdir(parents=True)
    log.write_text(
        "".join(f"{1036790000000 + i * 2_000_000} {t} {x}\n" for i, (t, x) in enumerate(zip(times, texts, strict=True)))
    )  # fmt: skip
    return root


@pytest.mark.parametrize(
    ("times", "tz", "failed_at"),
    [
        # an NTP step of 10 s back between the step's start and its failure
        (["03:00:00.000", "03:00:05.000", "03:00:05.100", "02:59:56.000", "02:59:58.100", "02:59:58.200"],
         "UTC", "2026-02-11T02:59:58.100000+00:00"),
        # the DST fall-back night in Berlin: 02:59 CEST, then 02:00 CET, 61 s later
        (["02:58:50.000", "02:59:00.000", "02:59:00.100", "02:59:50.000", "02:00:10.100", "02:00:10.200"],
         "Europe/Berlin", "2026-10-25T02:00:10.100000+01:00"),
    ],
    ids=["ntp-step", "dst-fall-back"],
)  # fmt: skip
def test_a_clock_that_goes_back_during_a_step_keeps_the_failure(
    tmp_path: Path, times: list[str], tz: str, failed_at: str
) -> None:
    """The failure written after the start (in the file) belongs to that run, however the
    clock moved; the second reading of a repeated local hour is the later one. The
    failure is not taken for an earlier run, and its own error is the cause."""
    day = "2026-10-25" if tz != "UTC" else "2026-02-11"
    bundle = _stepped_clock_bundle(tmp_path, [f"{day} {t}" for t in times])
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--format", "json", "--tz", tz])
    report = json.loads(result.stdout)
    (verdict,) = report["verdicts"]
    assert (verdict["status"], verdict["phase"], verdict["cause"]) == (
        "failure",
        "copy",
        "out_of_memory",
    )
    assert verdict["time"] == failed_at
    assert not any("earlier rebalance" in w for w in report["warnings"])


def test_an_ma_and_a_leaf_on_one_host_are_two_nodes(tmp_path: Path) -> None:
    """sdb-report folders 10.0.2.10-MA and 10.0.2.10-LEAF, their ports in memsqlConfig.json
    (SPEC §2.3): two nodes, each with its own role and restarts, not one merged node."""
    report = tmp_path / "report"
    for role, port in (("MA", 3306), ("LEAF", 3307)):
        folder = report / f"10.0.2.10-{role}"
        (folder / "memsqlTracelogs").mkdir(parents=True)
        config = {"memsqlId": f"{port:040X}", "role": role, "port": port, "datadir": "/data"}
        (folder / "memsqlConfig.json").write_text(json.dumps(config))
    (report / "10.0.2.10-MA" / "memsqlTracelogs" / "memsql.log").write_text(
        "500000000 2026-03-10 14:00:00.000   INFO: Thread 5: Rebalance: REBALANCE PARTITIONS ON orders starting\n"
        "500100000 2026-03-10 14:00:01.000   INFO: Thread 5: Rebalance: COPY PARTITION orders:4 to '10.0.2.10':3307 started\n"
        "560000000 2026-03-10 14:01:00.000  ERROR: Thread 5: Rebalance: COPY PARTITION orders:4 to '10.0.2.10':3307 failed: "
        "Leaf Error (10.0.2.10:3307): Lost connection to MySQL server during query\n"
    )  # fmt: skip
    (report / "10.0.2.10-LEAF" / "memsqlTracelogs" / "memsql.log").write_text(
        "800000000 2026-03-10 14:00:40.000   INFO: `orders_4` log: receiving snapshot\n"
        "00010000 2026-03-10 14:00:57.010   INFO: Log opened\n"
    )
    doc = _report(report)
    nodes = {n["node"]: (n["role"], n["restarts"]) for n in doc["nodes"]}
    assert nodes == {
        "10.0.2.10:3306": ("master_aggregator", 0),
        "10.0.2.10:3307": ("leaf", 1),
    }
    assert _causes_of(doc) == [("copy", "node_failure")]


def test_a_step_node_down_in_show_leaves_is_warned_about(tmp_path: Path) -> None:
    """The copy's target lost the connection and SHOW LEAVES shows it offline: the report
    says the failure may be that node's, and that its log is missing."""
    bundle = _rotated_target(tmp_path / "b", newer_start_us=259_300_000_000)
    shutil.rmtree(bundle / "10.0.0.14_3306")
    border = "+-----------+------+--------------------+---------+\n"
    (bundle / "leaves.txt").write_text(
        "mysql> SHOW LEAVES;\n" + border
        + "| Host      | Port | Availability_Group | State   |\n" + border
        + "| 10.0.0.13 | 3306 |                  1 | online  |\n"
        + "| 10.0.0.14 | 3306 |                  1 | offline |\n" + border
    )  # fmt: skip
    warnings = _report(bundle)["warnings"]
    (said,) = [w for w in warnings if "in SHOW LEAVES" in w]
    assert said.startswith("sales: 10.0.0.14:3306, the target of the failed step, is offline")
    assert said.endswith("its memsql.log is not in the bundle: ask for it")


def test_the_node_logging_the_steps_is_the_master_aggregator(tmp_path: Path) -> None:
    """A log with step lines but no rebalance start or end line (cut by rotation) still
    marks its node as the master aggregator: its lines count as the step's node."""
    bundle = _rotated_target(tmp_path / "a", newer_start_us=259_300_000_000)
    ma = bundle / "10.0.0.10_3306" / "memsql.log"
    ma.write_text("".join(ma.read_text().splitlines(keepends=True)[1:]))  # no start line
    roles = {n["node"]: n["role"] for n in _report(bundle)["nodes"]}
    assert roles["10.0.0.10:3306"] == "master_aggregator"
