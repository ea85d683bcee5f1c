"""A database known only from the plan (EXPLAIN REBALANCE ALL DATABASES) that a failed
REBALANCE ALL DATABASES run never started is no failure (SPEC §4.1, §5.2).

What a user sees: the verdicts (one per database that ran; none for one that never
started), the exit code of ``forensics analyze``, and the planned steps still listed in
``plan_vs_actual``. A database whose own lines show it ran and failed, or that the run's
failure line names as the one that failed, keeps its failure. The bundles are the master
aggregator's memsql.log and an EXPLAIN output, in the shape of the probe's repros.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from forensics import grammars
from forensics.cli import main
from forensics.timeline import named_databases

MA = "10.20.0.10_3306"
DAY = "2026-03-09"
KILLED = "failed after 90000 ms. ERROR 1317 (70100): Query execution was interrupted"
OOM = (
    "failed: Leaf Error (10.20.0.15:3306): Not enough memory available to complete the "
    "current request. The request was not processed. (1712)"
)


def _line(clock: str, level: str, text: str) -> str:
    h, m, s = clock.split(":")
    up = (9 * 86400 + int(h) * 3600 + int(m) * 60) * 1_000_000 + int(float(s) * 1_000_000)
    return f"{up} {DAY} {clock}  {level:>6}: Thread 115001 (ntid 55, conn id 3301): {text}\n"


def _explain(*databases: str) -> str:
    rows = "".join(
        f"| {db:<8} | {action:<14} | {n:>7} | 10.20.0.15  |        3306 | {phase:>5} |\n"
        for db in databases
        for action, phase in (("COPY PARTITION", 1), ("DROP PARTITION", 2))
        for n in (0, 2)
    )
    rule = "+----------+----------------+---------+-------------+-------------+-------+\n"
    head = "| Database | Action         | Ordinal | Target_Host | Target_Port | Phase |\n"
    return f"mysql> EXPLAIN REBALANCE ALL DATABASES;\n{rule}{head}{rule}{rows}{rule}"


def _ran(db: str, start: str, end: str, failed: str | None = None) -> list[str]:
    """The lines of ``db``'s REBALANCE PARTITIONS in the run: COPY :0 succeeds; COPY :2
    succeeds too, or fails with ``failed``."""
    step = f"RebalanceStep: COPY PARTITION ON {db}:2 TO '10.20.0.15':3306"
    level = "ERROR" if failed else "INFO"
    return [
        _line(f"{start}:00.000", "INFO", f"RebalancePartitions: REBALANCE PARTITIONS ON `{db}` running"),
        _line(f"{start}:01.000", "INFO", f"RebalanceStep: issuing COPY PARTITION ON {db}:0 TO '10.20.0.15':3306"),
        _line(f"{start}:09.000", "INFO", f"RebalanceStep: COPY PARTITION ON {db}:0 TO '10.20.0.15':3306 completed after 8000 ms"),
        _line(f"{start}:10.000", "INFO", f"RebalanceStep: issuing COPY PARTITION ON {db}:2 TO '10.20.0.15':3306"),
        _line(f"{end}:40.000", level, f"{step} {failed}" if failed else f"{step} completed after 90000 ms"),
        _line(f"{end}:41.000", level, f"RebalancePartitions: REBALANCE PARTITIONS ON `{db}` "
              + ("failed; 2 operations were not run" if failed else "succeeded")),
    ]  # fmt: skip


def _bundle(root: Path, lines: list[str], plan: str | None) -> Path:
    log = root / MA / "tracelogs" / "memsql.log"
    log.parent.mkdir(parents=True)
    log.write_text("".join(lines))
    if plan is not None:
        (root / "outputs").mkdir()
        (root / "outputs" / "explain.txt").write_text(plan)
    return root


def _analyze(root: Path) -> tuple[int, dict[str, Any]]:
    out = root.parent / f"{root.name}.json"
    result = CliRunner().invoke(main, ["analyze", str(root), "--json", str(out)])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(out.read_text())


def _verdicts(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(v["database"], v["status"], v["phase"], v["cause"]) for v in report["verdicts"]]


START = _line("02:00:00.000", "INFO", "ExecuteQuery: connection 3301 ('admin'@'10.20.1.5') started REBALANCE ALL DATABASES")  # fmt: skip
BILLING_OK = _ran("billing", "02:01", "02:03")


@pytest.mark.parametrize(
    ("crm_error", "cause", "end"),
    [
        (KILLED, "kill", "REBALANCE ALL DATABASES failed: 1 databases rebalanced, failed on crm"),
        (OOM, "out_of_memory", "REBALANCE ALL DATABASES stopped after crm failed; not rebalanced: orders"),
        (OOM, "out_of_memory", "REBALANCE ALL DATABASES stopped after crm failed; orders not rebalanced"),
        (KILLED, "kill", "REBALANCE ALL DATABASES failed on database crm"),
    ],
    ids=["failed-on-crm", "not-rebalanced-list", "listed-before", "line-of-crm"],
)  # fmt: skip
def test_a_planned_database_the_run_never_reached_is_no_failure(
    tmp_path: Path, crm_error: str, cause: str, end: str
) -> None:
    """It was: orders, known from the EXPLAIN output only, failed in an unknown phase with
    the run's error (crm's), and the runbook asked for its status."""
    lines = [START, *BILLING_OK, *_ran("crm", "02:04", "02:06", crm_error),
             _line("02:06:42.000", "ERROR", f"RebalanceAll: {end}")]  # fmt: skip
    code, report = _analyze(_bundle(tmp_path / "b", lines, _explain("billing", "crm", "orders")))
    assert _verdicts(report) == [
        ("billing", "no_failure", None, None),
        ("crm", "failure", "copy", cause),
    ]
    assert code == 1
    assert [rb["database"] for rb in report["rebalances"]] == ["billing", "crm"]
    assert {p["database"] for p in report["plan_vs_actual"]} >= {"orders"}  # still planned
    assert any("orders was planned" in w and "never started" in w for w in report["warnings"])
    assert "orders" not in json.dumps(report["recovery"][0])


def test_a_failure_line_naming_the_planned_database_keeps_its_failure(tmp_path: Path) -> None:
    """billing and crm succeeded; the run failed on orders, whose own lines are missing."""
    lines = [START, *BILLING_OK, *_ran("crm", "02:04", "02:06"),
             _line("02:06:50.000", "ERROR", f"RebalanceAll: REBALANCE ALL DATABASES failed on orders: {OOM}")]  # fmt: skip
    code, report = _analyze(_bundle(tmp_path / "b", lines, _explain("billing", "crm", "orders")))
    assert _verdicts(report) == [
        ("billing", "no_failure", None, None),
        ("crm", "no_failure", None, None),
        ("orders", "failure", None, "out_of_memory"),
    ]
    assert code == 1


def test_a_planned_database_whose_lines_show_it_failed_keeps_its_failure(tmp_path: Path) -> None:
    """crm and orders both failed by their own lines (a run that goes on after a failure)."""
    lines = [START, *_ran("crm", "02:04", "02:06", KILLED), *_ran("orders", "02:07", "02:09", OOM),
             _line("02:09:50.000", "ERROR", "RebalanceAll: REBALANCE ALL DATABASES failed on crm, orders")]  # fmt: skip
    code, report = _analyze(_bundle(tmp_path / "b", lines, _explain("crm", "orders")))
    assert _verdicts(report) == [
        ("crm", "failure", "copy", "kill"),
        ("orders", "failure", "copy", "out_of_memory"),
    ]
    assert code == 1


def test_the_only_planned_database_of_a_run_failing_without_detail_failed(tmp_path: Path) -> None:
    """Nothing but the run's failure: the one database the plan lists is the one that failed."""
    lines = [START, _line("02:06:42.000", "ERROR", f"Rebalancer: REBALANCE ALL DATABASES {OOM}")]
    code, report = _analyze(_bundle(tmp_path / "b", lines, _explain("orders")))
    assert [(v["database"], v["status"], v["cause"]) for v in report["verdicts"]] == [
        ("orders", "failure", "out_of_memory")
    ]
    assert code == 1


@pytest.mark.parametrize(
    "sample",
    grammars.load("messages")["all_databases"]["lines"],
    ids=lambda s: s["message"][-40:],
)
def test_all_databases_samples(sample: dict[str, Any]) -> None:
    """grammars/messages.toml [all_databases]: the databases each line names not
    rebalanced, and those it names otherwise."""
    roles = named_databases(sample["message"], sample["known"])
    assert sorted(db for db, role in roles.items() if role == "not_run") == sorted(
        sample["not_run"]
    )
    assert sorted(db for db, role in roles.items() if role == "named") == sorted(sample["named"])
