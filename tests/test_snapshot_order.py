"""Which snapshot is the latest: order words, numbered copies, the safety rule for
snapshots nothing orders, and a snapshot of a database the bundle never names."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner

from forensics import schemas
from forensics.cli import main
from forensics.impact import (
    compute_impact,
    in_time_order,
    latest_snapshot,
    normalise_partitions,
    snapshot_order_key,
)

A, B, C = "10.0.1.11:3306", "10.0.1.12:3306", "10.0.1.13:3306"
RISK_NOTE = "the one showing a partition without a master or an orphan is read as the later"


def row(snapshot: str, ordinal: int, node: str | None, role: str | None, db: str | None = "crm",
        kind: str = "partitions") -> dict[str, Any]:  # fmt: skip
    return {"database": db, "ordinal": ordinal, "node": node, "role": role,
            "snapshot": snapshot, "snapshot_kind": kind}  # fmt: skip


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return schemas.conform(pl.DataFrame(rows), schemas.PARTITIONS)


def redundancy(level: str) -> pl.DataFrame:
    data = [{"name": "redundancy_level", "value": level, "node": "ma"}]
    return schemas.conform(pl.DataFrame(data), schemas.VARIABLES)


def impact_of(rows: list[dict[str, Any]], level: str = "1", **kw: Any) -> Any:
    disk = schemas.empty(schemas.DISK_USAGE)
    return compute_impact(frame(rows), redundancy(level), disk, **kw)


def only_db(impact: Any) -> dict[str, Any]:
    (db,) = impact.to_json()["databases"]
    return db


def clean(snapshot: str, kind: str = "partitions") -> list[dict[str, Any]]:
    """Both partitions with their master (redundancy 1)."""
    return [row(snapshot, 0, A, "Master", kind=kind), row(snapshot, 1, B, "Master", kind=kind)]


def crashed(snapshot: str, kind: str = "partitions") -> list[dict[str, Any]]:
    """Partition 1's master detached: only an orphan holds it."""
    return [row(snapshot, 0, A, "Master", kind=kind), row(snapshot, 1, B, "Orphan", kind=kind)]


def analyze(bundle: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def blocked(report: dict[str, Any]) -> list[int]:
    return sorted(s["step"] for s in report["recovery"] if s.get("blocked_by"))


_STATUS = """mysql> SHOW CLUSTER STATUS;
+-----------+------+----------+--------+--------+----------+---------+
| Host      | Port | Database | Role   | State  | Position | Details |
+-----------+------+----------+--------+--------+----------+---------+
| 10.0.1.11 | 3306 | crm_0    | Master | online | 4:100    |         |
| 10.0.1.12 | 3306 | crm_1    | {role} | online | 4:200    |         |
+-----------+------+----------+--------+--------+----------+---------+
2 rows in set (0.01 sec)

mysql> SHOW VARIABLES LIKE 'redundancy_level';
+------------------+-------+
| Variable_name    | Value |
+------------------+-------+
| redundancy_level |     1 |
+------------------+-------+
1 row in set (0.01 sec)
"""


# --------------------------------------------------------------------------- words (B1a, B3)


def test_a_plain_cluster_status_is_later_than_one_named_during_the_rebalance(
    tmp_path: Path,
) -> None:
    """B1: cluster_status_during_rebalance.txt (04:01, all masters) and cluster_status.txt
    (04:12, crm_1 an orphan): the plain name is what the bundle collected at its end."""
    (tmp_path / "cluster_status_during_rebalance.txt").write_text(_STATUS.format(role="Master"))
    (tmp_path / "cluster_status.txt").write_text(_STATUS.format(role="Orphan"))
    code, report = analyze(tmp_path)
    db = report["impact"]["databases"][0]
    assert report["impact"]["data_at_risk"] is True and code == 1
    assert db["partitions_without_master"] == [1]
    assert [(o["ordinal"], o["node"]) for o in db["orphans"]] == [(1, B)]
    assert blocked(report) == [4, 5]
    assert "ATTACH PARTITION crm:1 ON '10.0.1.12':3306" in json.dumps(report["recovery"])


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("sql/cluster_status_during_rebalance.txt#0", "sql/cluster_status.txt#0"),
        ("sql/partitions_mid_copy.txt#0", "sql/partitions.txt#0"),
        ("sql/partitions_while_running.txt#0", "sql/partitions.txt#0"),
        ("sql/partitions_failure.txt#0", "sql/partitions.txt#0"),
        ("sql/partitions_before_crash.txt#0", "sql/partitions_during_crash.txt#0"),
        ("sql/partitions.txt#0", "sql/partitions_after.txt#0"),
        ("sql/partitions_after_failure.txt#0", "sql/partitions_after_attach.txt#0"),
        ("sql/partitions_after.txt#0", "sql/partitions_cleanup.txt#0"),
        ("sql/partitions_retry.txt#0", "sql/partitions_recovered.txt#0"),
        ("sql/partitions_fixed.txt#0", "sql/partitions_final.txt#0"),
        # "before X" is just before X: after a plain capture, before "after X"
        ("sql/status_before_retry.txt#0", "sql/status_after_retry.txt#0"),
        ("sql/partitions.txt#0", "sql/partitions_before_retry.txt#0"),
        ("sql/partitions_pre_cleanup.txt#0", "sql/partitions_post_cleanup.txt#0"),
        ("sql/partitions_before_crash.txt#0", "sql/partitions.txt#0"),
    ],
)
def test_order_words_place_snapshots_in_time(earlier: str, later: str) -> None:
    assert sorted([later, earlier], key=snapshot_order_key) == [earlier, later]
    assert sorted([earlier, later], key=snapshot_order_key) == [earlier, later]


def test_two_after_snapshots_the_one_after_the_attach_wins() -> None:
    """B3: show_partitions_after_failure.txt (crm:1 without master) and
    show_partitions_after_attach.txt (fixed): the attach came later."""
    failure = "b/show_partitions_after_failure.txt#0"
    rows = [row(failure, 0, A, "Master"), *clean("b/show_partitions_after_attach.txt#0")]
    impact = impact_of(rows)
    db = only_db(impact)
    assert impact.data_at_risk is False
    assert db["partitions_without_master"] == [] and db["over_redundant"] == []
    assert db["snapshot"]["partitions"] == "b/show_partitions_after_attach.txt#0"


# --------------------------------------------------------------------------- safety rule (B1b)


@pytest.mark.parametrize(
    ("first", "second"),
    [("sql/partitions_x.txt#0", "sql/partitions_y.txt#0"),
     ("10.0.1.11_3306/partitions.txt#0", "10.0.1.12_3306/partitions.txt#0")],
)  # fmt: skip
@pytest.mark.parametrize("risky_first", [True, False])
def test_snapshots_nothing_orders_are_read_on_the_side_of_the_risk(
    first: str, second: str, risky_first: bool
) -> None:
    """Which spelling sorts last must not decide whether step 5 opens: the snapshot that
    shows the orphan and the partition without master is read as the later, and said so
    (folders named by a node's address order nothing either)."""
    risky, safe = (first, second) if risky_first else (second, first)
    impact = impact_of([*clean(safe), *crashed(risky)])
    db = only_db(impact)
    assert impact.data_at_risk is True and db["partitions_without_master"] == [1]
    assert db["snapshot"]["partitions"] == risky
    assert any(RISK_NOTE in a and f"is read as taken before {risky}" in a
               for a in impact.assumptions)  # fmt: skip


def test_snapshots_ordered_by_their_numbers_keep_their_order() -> None:
    """status_9 then status_10: the numbers tell, so the clean later one is the latest."""
    impact = impact_of([*crashed("sql/status_9.txt#0"), *clean("sql/status_10.txt#0")])
    assert impact.data_at_risk is False
    assert only_db(impact)["snapshot"]["partitions"] == "sql/status_10.txt#0"


def test_an_unordered_cluster_status_without_the_master_outweighs_show_partitions() -> None:
    """SHOW PARTITIONS (all masters) and SHOW CLUSTER STATUS in files nothing orders;
    the status shows partition 1 only as an orphan on another leaf: its master may be
    gone, and that orphan the only copy."""
    part = clean("sql/partitions.txt#0")
    status = [row("sql/status.txt#0", 0, A, "Master", kind="cluster_status"),
              row("sql/status.txt#0", 1, C, "Orphan", kind="cluster_status")]  # fmt: skip
    impact = impact_of([*part, *status])
    db = only_db(impact)
    assert impact.data_at_risk is True and db["partitions_without_master"] == [1]
    snap = latest_snapshot(normalise_partitions(frame([*part, *status])))
    assert snap.cluster_snapshot == "sql/status.txt#0" and snap.partitions_snapshot is None
    assert any("nothing tells whether sql/status.txt#0" in n and "ordinal(s) 1" in n
               for n in snap.notes)  # fmt: skip
    assert any("nothing tells whether" in a for a in impact.assumptions)  # (in the report)


def test_a_cluster_status_named_earlier_does_not_outweigh_a_later_show_partitions() -> None:
    part = clean("sql/partitions_after.txt#0")
    status = [row("sql/status_before.txt#0", 0, A, "Master", kind="cluster_status"),
              row("sql/status_before.txt#0", 1, C, "Orphan", kind="cluster_status")]  # fmt: skip
    db = only_db(impact_of([*part, *status]))
    assert db["partitions_without_master"] == []


# --------------------------------------------------------------------------- numbered copies (C4)


@pytest.mark.parametrize(
    "names",
    [
        ["export/partitions.csv#0", "export/partitions(1).csv#0", "export/partitions(2).csv#0"],
        ["export/partitions.csv#0", "export/partitions (1).csv#0", "export/partitions (10).csv#0"],
        ["x/partitions.txt#0", "x/partitions - Copy.txt#0", "x/partitions - Copy (2).txt#0"],
        ["x/partitions.txt#0", "x/partitions copy.txt#0", "x/partitions copy 2.txt#0"],
    ],
)
def test_a_numbered_copy_is_later_than_its_original(names: list[str]) -> None:
    assert sorted(reversed(names), key=snapshot_order_key) == names


def test_the_newer_browser_download_gives_the_impact() -> None:
    """o03: partitions.csv is the old download (partition 1 without master),
    partitions(1).csv the newer one (fixed): `(` sorts before `.` as text."""
    impact = impact_of([*crashed("export/partitions.csv#0"), *clean("export/partitions(1).csv#0")])
    assert impact.data_at_risk is False
    assert only_db(impact)["snapshot"]["partitions"] == "export/partitions(1).csv#0"


# --------------------------------------------------------------------------- unnamed database (C5)


def _unnamed(snapshot: str = "sql/partitions.txt#0") -> list[dict[str, Any]]:
    """SHOW PARTITIONS pasted without its statement; ordinal 5 printed with NULL host."""
    rows = [row(snapshot, o, A, "Master", db=None) for o in range(5)]
    return [*rows, row(snapshot, 5, None, None, db=None)]


def test_a_snapshot_of_a_database_the_bundle_never_names_is_used() -> None:
    impact = impact_of(_unnamed(), databases=())
    assert impact.computed and impact.data_at_risk is True
    db = only_db(impact)
    assert db["partitions_without_master"] == [5] and db["partitions"] == 6
    assert any("database not named in the bundle" in w for w in impact.warnings)
    assert not any("concerns several" in w or "not computed" in w for w in impact.warnings)


def test_an_unnamed_snapshot_beside_several_databases_stays_unused() -> None:
    impact = impact_of(_unnamed(), databases=("crm", "web"))
    assert not impact.computed
    assert any("concerns several" in w for w in impact.warnings)


def test_an_unnamed_snapshot_beside_one_database_is_read_as_its() -> None:
    db = only_db(impact_of(_unnamed(), databases=("ledger",)))
    assert db["database"] == "ledger" and db["partitions_without_master"] == [5]


def test_a_bare_tsv_snapshot_without_any_database_blocks_cleanup(tmp_path: Path) -> None:
    """r04b: a tab-separated SHOW PARTITIONS without its statement, ordinal 5 NULL."""
    sql = tmp_path / "sql"
    sql.mkdir()
    lines = ["Ordinal\tHost\tPort\tRole\tLocked"]
    lines += [f"{o}\t10.0.9.11\t3306\tMaster\t0" for o in range(5)] + ["5\tNULL\tNULL\tNULL\t0"]
    (sql / "partitions.txt").write_text("\n".join(lines) + "\n")
    (sql / "vars.txt").write_text(_STATUS.split("\n\n", 1)[1])
    code, report = analyze(tmp_path)
    assert code == 1 and report["impact"]["data_at_risk"] is True
    assert report["impact"]["databases"][0]["partitions_without_master"] == [5]
    assert blocked(report) == [4, 5]
    # the name the unnamed database goes by in the text is no identifier in the SQL
    sql = [line for step in report["recovery"] for line in step["sql"]]
    assert "SHOW PARTITIONS;" in sql and not any("(unnamed)" in line for line in sql)


# --------------------------------------------------------------------------- shared folders


@pytest.mark.parametrize("folder", ["incident_during_rebalance", "crash-2026-03-04/before_fix"])
def test_a_folder_all_snapshots_share_does_not_order_them(folder: str) -> None:
    """Both captures are in one folder whose name has an order word: it says nothing
    about which of them is later; the file names do (a plain name after 'during')."""
    rows = clean(f"{folder}/cluster_status_during_copy.txt#0", kind="cluster_status")
    rows += crashed(f"{folder}/cluster_status.txt#0", kind="cluster_status")
    db = only_db(impact_of(rows))
    assert db["partitions_without_master"] == [1]


def test_status_captures_in_a_folder_named_during_are_ordered_by_their_own_names(
    tmp_path: Path,
) -> None:
    """The capture taken while the copy ran and the final one, in a folder named for the
    incident: the final one (plain name) shows the failed promote."""
    folder = tmp_path / "status_during_incident"
    folder.mkdir()
    head = (
        "mysql> SHOW REBALANCE STATUS ON inventory;\n"
        "+-----------------------------+---------+-------------+-------------+-------+-----------+\n"
        "| Action                      | Ordinal | Target_Host | Target_Port | Phase | Status    |\n"
        "+-----------------------------+---------+-------------+-------------+-------+-----------+\n"
    )
    rows = {
        "rebalance_status.txt": ("success", "failed"),
        "rebalance_status_during_copy.txt": ("running", "scheduled"),
    }
    for name, (copy, promote) in rows.items():
        (folder / name).write_text(
            head
            + f"| COPY PARTITION              |       3 | 10.0.1.13   |        3306 |     1 | {copy:<9} |\n"
            + f"| PROMOTE PARTITION WITH DROP |       1 | 10.0.1.13   |        3306 |     2 | {promote:<9} |\n"
            + "+-----------------------------+---------+-------------+-------------+-------+-----------+\n"
        )
    result = CliRunner().invoke(main, ["analyze", str(folder), "--format", "json"])
    verdicts = json.loads(result.stdout)["verdicts"]
    assert [(v["status"], v["phase"]) for v in verdicts] == [("failure", "promote")]


@pytest.mark.parametrize("table", ["order", "copy_mark"])
def test_the_grammar_samples_sort_oldest_first(table: str) -> None:
    """The samples of grammars/snapshots.toml, shuffled, come back in their written order:
    the file a support engineer corrects is the one the ordering reads."""
    from forensics import grammars

    samples = grammars.load("snapshots")[table]["samples"]
    assert in_time_order(reversed(samples)) == samples


def _status(snapshot: str, *databases: str) -> list[dict[str, Any]]:
    return [row(snapshot, 0, A, "Master", db=db, kind="cluster_status") for db in databases]


def test_a_database_a_later_whole_cluster_status_no_longer_lists_is_left_out() -> None:
    """tmp_stage was dropped during the incident: only the 'before' capture has it."""
    rows = _status("before/status.txt#0", "crm", "tmp_stage") + _status(
        "after/status.txt#0", "crm", "orders"
    )
    impact = impact_of(rows).to_json()
    assert [db["database"] for db in impact["databases"]] == ["crm", "orders"]
    assert any(w.startswith("tmp_stage: not in after/status.txt#0") for w in impact["warnings"])
    # a database whose rebalance failed stays: its rows are the impact asked for
    plain = _status("mid/status.txt#0", "crm", "tmp_stage") + _status(
        "after/status.txt#0", "crm", "orders"
    )
    kept = impact_of(plain, failing_phases={"tmp_stage": "copy"}).to_json()
    assert "tmp_stage" in [db["database"] for db in kept["databases"]]
    # ... unless its only capture says it was taken before the rebalance: then its state
    # after the failure is unknown (tests/test_snapshot_currency.py)
    # (in a bundle: its own folder first, which says nothing of when)
    rows = _status("bundle/before/status.txt#0", "crm", "tmp_stage") + _status(
        "bundle/after/status.txt#0", "crm", "orders"
    )
    unseen = impact_of(rows, failing_phases={"tmp_stage": "copy"}).to_json()
    assert [u["database"] for u in unseen["unseen"]] == ["tmp_stage"]
    assert unseen["data_at_risk"] is None
    # a later status of one database only (filtered by name) says nothing of the others
    one = _status("mid/status.txt#0", "crm", "tmp_stage") + _status("after/s.txt#0", "crm")
    assert "tmp_stage" in [db["database"] for db in impact_of(one).to_json()["databases"]]
    # nor does one whose order the names do not tell
    tie = _status("a/status.txt#0", "crm", "tmp_stage") + _status("b/status.txt#0", "crm", "x")
    assert "tmp_stage" in [db["database"] for db in impact_of(tie).to_json()["databases"]]


def _captured(now: str, copies: list[tuple[int, str, str]]) -> str:
    """A session file: SELECT NOW(), then SHOW CLUSTER STATUS with ``copies``."""
    border = "+----------+------+----------+---------+--------+"
    rows = [f"| {h.split(':')[0]:<8} | 3306 | crm_{o:<4} | {r:<7} | online |" for o, h, r in copies]
    lines = ["mysql> SELECT NOW();", "+---------------------+", "| NOW()               |",
             "+---------------------+", f"| {now} |", "+---------------------+",
             "1 row in set (0.00 sec)", "", "mysql> SHOW CLUSTER STATUS;", border,
             "| Host     | Port | Database | Role    | State  |", border, *rows, border]  # fmt: skip
    return "\n".join(lines) + "\n"


def test_capture_times_order_snapshots_the_names_do_not(tmp_path: Path) -> None:
    """Two captures in files whose names tell no order: the one whose SELECT NOW() is later
    is the latest (here the clean one), not the riskier one."""
    (tmp_path / "node-a").mkdir()
    (tmp_path / "node-b").mkdir()
    A_, B_ = "10.0.1.11:3306", "10.0.1.12:3306"
    (tmp_path / "node-a" / "status.txt").write_text(
        _captured("2026-03-14 09:00:00", [(0, A_, "Master"), (1, B_, "Orphan")])
    )
    (tmp_path / "node-b" / "status.txt").write_text(
        _captured("2026-03-14 10:30:00", [(0, A_, "Master"), (1, B_, "Master")])
    )
    _, report = analyze(tmp_path)
    (db,) = report["impact"]["databases"]
    assert db["partitions_without_master"] == [] and not report["impact"]["data_at_risk"]
    assert db["snapshot"]["cluster_status"] == f"{tmp_path.name}/node-b/status.txt#1"
    # the other way round, the orphan-only capture is the latest
    (tmp_path / "node-a" / "status.txt").write_text(
        _captured("2026-03-14 11:00:00", [(0, A_, "Master"), (1, B_, "Orphan")])
    )
    _, report = analyze(tmp_path)
    assert report["impact"]["data_at_risk"]


# --------------------------------------------------------------------------- capture clocks

_HEALTHY = [(0, "10.1.0.21", "Master"), (0, "10.1.0.22", "Replica"),
            (1, "10.1.0.22", "Master"), (1, "10.1.0.21", "Replica")]  # fmt: skip
#: After the failed promote: partition 1 has two replicas and no master.
_FAILED = [(0, "10.1.0.21", "Master"), (0, "10.1.0.22", "Replica"),
           (1, "10.1.0.21", "Replica"), (1, "10.1.0.24", "Replica")]  # fmt: skip


def _show_partitions(copies: list[tuple[int, str, str]], prompt: str = "mysql> ") -> str:
    border = "+---------+-----------+------+---------+--------+"
    rows = [f"| {o:>7} | {h:<9} | 3306 | {r:<7} |      0 |" for o, h, r in copies]
    return "\n".join([f"{prompt}SHOW PARTITIONS ON ledger;", border,
                      "| Ordinal | Host      | Port | Role    | Locked |", border, *rows, border,
                      f"{len(rows)} rows in set (0.01 sec)", ""])  # fmt: skip


def _clock_query(value: str, statement: str = "NOW()") -> str:
    border = "+---------------------+"
    return "\n".join([f"mysql> SELECT {statement};", border, f"| {statement:<19} |", border,
                      f"| {value} |", border, "1 row in set (0.00 sec)", "", ""])  # fmt: skip


def _two_sessions(tmp_path: Path, bundle: str, ticket: str) -> Path:
    """The repro's shape: the bundle's SHOW PARTITIONS and the one pasted in the ticket."""
    (tmp_path / "sql").mkdir(parents=True)
    (tmp_path / "ticket").mkdir()
    (tmp_path / "sql" / "partitions_bundle.txt").write_text(bundle)
    (tmp_path / "ticket" / "partitions_ticket.txt").write_text(ticket)
    return tmp_path


def _order_note(report: dict[str, Any]) -> str:
    (note,) = [a for a in report["impact"]["assumptions"] if "is read as taken before" in a]
    return note


def test_a_server_clock_and_a_client_stamp_do_not_order_the_snapshots(tmp_path: Path) -> None:
    """SELECT NOW() = 13:50 (the MA's session, UTC) before the healthy placement; a client
    in Chicago stamped 09:20 (14:20 UTC, after the failure) on the one without a master.
    The naive times would make the healthy one current and open REBALANCE and CLEAR ORPHAN
    DATABASES: clocks of unknown zones that are not the same clock order nothing, so the
    snapshot showing the risk is used, and the assumption says why."""
    bundle = _two_sessions(
        tmp_path / "b",
        _clock_query("2026-10-14 13:50:12") + _show_partitions(_HEALTHY),
        _show_partitions(_FAILED, prompt="[2026-10-14 09:20:02] mysql> "),
    )
    code, report = analyze(bundle)
    (db,) = report["impact"]["databases"]
    assert code == 1 and report["impact"]["data_at_risk"] is True
    assert db["partitions_without_master"] == [1]
    assert db["snapshot"]["partitions"] == "b/ticket/partitions_ticket.txt#0"
    assert blocked(report) == [4, 5]
    note = _order_note(report)
    assert RISK_NOTE in note and "nothing tells which was taken later" in note
    assert "2026-10-14 13:50:12 from the server's SELECT NOW()" in note
    assert "they order nothing" in note and "file names and folders" not in note


def test_a_zone_the_client_names_does_not_compare_with_the_servers_clock(tmp_path: Path) -> None:
    """`date` says CDT, but NOW() says no zone: still nothing orders them."""
    bundle = _two_sessions(
        tmp_path / "b",
        _clock_query("2026-10-14 13:50:12") + _show_partitions(_HEALTHY),
        "$ date\nWed Oct 14 09:20:02 CDT 2026\n" + _show_partitions(_FAILED),
    )
    _, report = analyze(bundle)
    assert report["impact"]["data_at_risk"] is True and blocked(report) == [4, 5]


@pytest.mark.parametrize(("utc_now", "risky_is_later"), [("13:50:12", True), ("14:40:00", False)])
def test_zoned_clocks_are_compared_in_utc(
    tmp_path: Path, utc_now: str, risky_is_later: bool
) -> None:
    """UTC_TIMESTAMP() and a `date` naming CDT (09:20 CDT = 14:20 UTC) do compare: the
    later one in UTC is current, whichever shows the risk, and the note says so."""
    bundle = _two_sessions(
        tmp_path / "b",
        _clock_query(f"2026-10-14 {utc_now}", "UTC_TIMESTAMP()") + _show_partitions(_HEALTHY),
        "$ date\nWed Oct 14 09:20:02 CDT 2026\n" + _show_partitions(_FAILED),
    )
    _, report = analyze(bundle)
    assert report["impact"]["data_at_risk"] is risky_is_later
    assert blocked(report) == ([4, 5] if risky_is_later else [])
    note = _order_note(report)
    assert "their capture times say so" in note and "compared in UTC" in note
    assert "(UTC-05:00)" in note and RISK_NOTE not in note


def test_clocks_further_apart_than_any_zones_order_the_snapshots(tmp_path: Path) -> None:
    """A server clock and a client stamp two days apart: no pair of zones explains that,
    so the later one is current (here the healthy one: the failure was repaired)."""
    bundle = _two_sessions(
        tmp_path / "b",
        _clock_query("2026-10-16 13:50:12") + _show_partitions(_HEALTHY),
        _show_partitions(_FAILED, prompt="[2026-10-14 09:20:02] mysql> "),
    )
    _, report = analyze(bundle)
    assert report["impact"]["data_at_risk"] is False
    assert "more than 26 hours apart" in _order_note(report)


def test_the_same_servers_clock_orders_and_the_note_says_so(tmp_path: Path) -> None:
    """Both SELECT NOW(): the later one is current even when it shows no risk."""
    bundle = _two_sessions(
        tmp_path / "b",
        _clock_query("2026-10-14 14:30:00") + _show_partitions(_HEALTHY),
        _clock_query("2026-10-14 14:10:00") + _show_partitions(_FAILED),
    )
    _, report = analyze(bundle)
    assert report["impact"]["data_at_risk"] is False and blocked(report) == []
    note = _order_note(report)
    assert "both read from the server's SELECT NOW()" in note
    assert "2026-10-14 14:10:00 and 2026-10-14 14:30:00" in note


def _stamped(at: str, clock: str | None, copies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    when = datetime.fromisoformat(at)
    return [{**r, "captured_at": when, "capture_clock": clock} for r in copies]


@pytest.mark.parametrize(
    ("clock_a", "clock_b", "same_file", "orders"),
    [
        ("server", "server", False, True),
        ("client", "client", True, True),  # one session's stamps
        ("client", "client", False, False),  # two sessions: their zones may differ
        ("server", "client", False, False),
        ("UTC+00:00", "UTC-05:00", False, True),
        ("UTC+00:00", "server", False, False),
        (None, "server", False, False),
    ],
)
def test_capture_times_order_only_when_their_clocks_compare(
    clock_a: str | None, clock_b: str | None, same_file: bool, orders: bool
) -> None:
    """The clean snapshot has the later naive time (10:30 against 09:00, and 14:30 UTC
    against 14:00 UTC for the zoned pair); the crashed one is read as the later unless
    the two clocks compare."""
    # (two tables of one file are in the order the session ran them: the stamps agree)
    late, early = ("sql/s.txt#1", "sql/s.txt#0") if same_file else ("a/s.txt#0", "b/s.txt#0")
    late_at = "2026-03-14 14:30:00" if clock_a == "UTC+00:00" else "2026-03-14 10:30:00"
    rows = _stamped(late_at, clock_a, clean(late))
    rows += _stamped("2026-03-14 09:00:00", clock_b, crashed(early))
    impact = impact_of(rows)
    assert impact.data_at_risk is (not orders)
    assert only_db(impact)["snapshot"]["partitions"] == (late if orders else early)
