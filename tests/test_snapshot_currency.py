"""Which snapshot shows the state after the failure: captions that order two tables of one
file, a snapshot taken before the rebalance (never the current state), and a failed
database no snapshot shows (data at risk unknown, never "no")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from forensics.cli import main
from tests.test_impact_attribution import REDUNDANCY_2 as REDUNDANCY
from tests.test_snapshot_order import impact_of, row

ROOT = Path(__file__).resolve().parents[1]
#: The master aggregator's log of copy_out_of_memory: the rebalance of `orders` starts at
#: 02:58:19 and fails at 03:12:32 in COPY PARTITION orders:7 (out of memory).
MA_LOG = ROOT / "fixtures" / "copy_out_of_memory" / "10.0.1.10_3306" / "tracelogs" / "memsql.log"
UNKNOWN = "unknown — no SHOW PARTITIONS after the failure"

#: Before the rebalance: each of the 16 partitions (the log names ordinals 1-15) has a
#: master and a replica.
HEALTHY = [(o, f"10.0.1.1{1 + o % 2}", r) for o in range(16) for r in ("Master", "Replica")]
HEALTHY = [(o, h if r == "Master" else f"10.0.1.1{2 - o % 2}", r) for o, h, r in HEALTHY]
#: After the failure: partition 7 lost its master (only a replica is left) and the COPY
#: left extra copies of partitions 1 and 2 on 10.0.1.13.
FAILED = [c for c in HEALTHY if not (c[0] == 7 and c[2] == "Master")] + [
    (1, "10.0.1.13", "Replica"),
    (2, "10.0.1.13", "Replica"),
]


def show_partitions(copies: list[tuple[int, str, str]], database: str = "orders") -> str:
    """A boxed `mysql>` SHOW PARTITIONS output, as the client prints it."""
    border = "+---------+-----------+------+---------+--------+"
    rows = [f"| {o:>7} | {h:<9} | 3306 | {r:<7} |      0 |" for o, h, r in sorted(copies)]
    return "\n".join([f"mysql> SHOW PARTITIONS ON {database};", border,
                      "| Ordinal | Host      | Port | Role    | Locked |", border, *rows, border,
                      f"{len(rows)} rows in set (0.01 sec)", ""])  # fmt: skip


def select_now(value: str) -> str:
    border = "+---------------------+"
    return "\n".join(["mysql> SELECT NOW();", border, "| NOW()               |", border,
                      f"| {value} |", border, "1 row in set (0.00 sec)", ""])  # fmt: skip


def bundle(tmp_path: Path, files: dict[str, str]) -> Path:
    """The master aggregator's log of a failed rebalance of `orders`, plus ``files``."""
    logs = tmp_path / "10.0.1.10_3306" / "tracelogs"
    logs.mkdir(parents=True)
    shutil.copy(MA_LOG, logs / "memsql.log")
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "variables.txt").write_text(REDUNDANCY)
    for name, text in files.items():
        (tmp_path / "sql" / name).write_text(text)
    return tmp_path


def analyze(path: Path, *options: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["analyze", str(path), *options])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, result.stdout


def report_of(path: Path) -> tuple[int, dict[str, Any]]:
    code, out = analyze(path, "--format", "json")
    return code, json.loads(out)


def blocked(report: dict[str, Any]) -> list[int]:
    return sorted(s["step"] for s in report["recovery"] if s.get("blocked_by"))


def flat(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- captions (1)


@pytest.mark.parametrize(
    ("now", "then"),
    [
        ("Partitions now:", "and before the rebalance, for comparison:"),
        ("# after the failure", "-- before"),
        ("mysql> -- snapshot taken at 10:05 after it failed", "mysql> -- taken at 09:10 before rebalance"),
    ],
)  # fmt: skip
def test_captions_put_two_tables_of_one_file_in_time_order(
    tmp_path: Path, now: str, then: str
) -> None:
    """The state after the failure pasted first, the healthy one from before below it:
    the captions say which is which, and the healthy one must not open the cleanup."""
    text = f"{now}\n\n{show_partitions(FAILED)}\n{then}\n\n{show_partitions(HEALTHY)}"
    code, report = report_of(bundle(tmp_path, {"partitions.txt": text}))
    (db,) = report["impact"]["databases"]
    assert db["snapshot"]["partitions"].endswith("sql/partitions.txt#0")
    assert db["partitions_without_master"] == [7]
    assert db["over_redundant"] == [1, 2] and db["extra_copies"] == 2
    assert report["impact"]["data_at_risk"] is True and code == 1
    assert blocked(report) == [4, 5]
    diff = db["snapshot_diff"]
    assert diff["before"].endswith("#1") and diff["after"].endswith("#0")
    (note,) = [a for a in report["assumptions"] if "is read as taken before" in a]
    captions = [c.removeprefix("mysql> ").lstrip("#- ") for c in (then, now)]
    assert f"their captions say so: '{captions[0]}' and '{captions[1]}'" in note


def test_captions_that_say_nothing_keep_the_order_the_session_ran_them(tmp_path: Path) -> None:
    """No time word in either caption: the later table of the file is the latest, as before."""
    text = f"Output 1:\n{show_partitions(HEALTHY)}\nOutput 2:\n{show_partitions(FAILED)}"
    _, report = report_of(bundle(tmp_path, {"partitions.txt": text}))
    (db,) = report["impact"]["databases"]
    assert db["snapshot"]["partitions"].endswith("#1") and db["partitions_without_master"] == [7]
    (note,) = [a for a in report["assumptions"] if "is read as taken before" in a]
    assert "both are tables of one file, in the order the session ran them" in note


def test_a_word_of_a_database_name_in_a_caption_tells_no_time() -> None:
    """'old_crm' names a database: its 'old' is no caption word. One caption says "now"
    and the other nothing: the captions do not order them, the file order does."""
    first, second = "b/p.txt#0", "b/p.txt#1"

    def rows(caption: str) -> list[dict[str, Any]]:
        return [
            {**row(first, 0, "10.0.1.11:3306", "Master", db="old_crm"), "caption": "old_crm now:"},
            {**row(second, 0, "10.0.1.11:3306", "Replica", db="old_crm"), "caption": caption},
        ]

    (db,) = impact_of(rows("old_crm:")).to_json()["databases"]
    assert db["snapshot"]["partitions"] == second and db["partitions_without_master"] == [0]
    # the same captions without the database's name: "old" is before "now"
    (db,) = impact_of(rows("old:")).to_json()["databases"]
    assert db["snapshot"]["partitions"] == first


# --------------------------------------------------------------------------- taken before (2)


def _no_current_snapshot(report: dict[str, Any], code: int) -> None:
    impact = report["impact"]
    assert impact["databases"] == [] and impact["data_at_risk"] is None
    assert [(u["database"], u["data_at_risk"]) for u in impact["unseen"]] == [("orders", None)]
    assert code == 1


def test_a_lone_snapshot_named_before_is_not_the_state_after_the_failure(tmp_path: Path) -> None:
    code, report = report_of(bundle(tmp_path, {"partitions_before.txt": show_partitions(HEALTHY)}))
    _no_current_snapshot(report, code)
    name = f"{tmp_path.name}/sql/partitions_before.txt#0"
    assert any(
        f"{name} was captured before the rebalance (its name says so): it is not the state "
        "after the failure" in a
        for a in report["assumptions"]
    )
    # the runbook keeps what it blocks without any snapshot at all
    (tmp_path / "sql" / "partitions_before.txt").unlink()
    _, without = report_of(tmp_path)
    assert without["impact"] is None
    assert blocked(report) == blocked(without) == [4, 5]


def test_a_lone_snapshot_whose_caption_says_before_is_set_aside(tmp_path: Path) -> None:
    text = f"-- taken before the rebalance\n{show_partitions(HEALTHY)}"
    code, report = report_of(bundle(tmp_path, {"partitions.txt": text}))
    _no_current_snapshot(report, code)
    assert any(
        "its caption says so: 'taken before the rebalance'" in a for a in report["assumptions"]
    )
    assert blocked(report) == [4, 5]


def test_a_snapshot_captured_before_the_failed_rebalance_started_is_set_aside(
    tmp_path: Path,
) -> None:
    """SELECT NOW() says 02:40, the rebalance's first step started at 02:58:19 (logs read
    as UTC, the server's own clock)."""
    text = select_now("2026-02-11 02:40:00") + "\n" + show_partitions(HEALTHY)
    code, report = report_of(bundle(tmp_path, {"partitions.txt": text}))
    _no_current_snapshot(report, code)
    assert any(
        "its capture time 2026-02-11 02:40:00, from the server's SELECT NOW(), is before "
        "the failed rebalance's first step" in a
        for a in report["assumptions"]
    )
    assert blocked(report) == [4, 5]


def test_a_snapshot_captured_after_the_failure_is_the_current_state(tmp_path: Path) -> None:
    text = select_now("2026-02-11 03:20:00") + "\n" + show_partitions(FAILED)
    code, report = report_of(bundle(tmp_path, {"partitions.txt": text}))
    (db,) = report["impact"]["databases"]
    assert db["partitions_without_master"] == [7] and report["impact"]["unseen"] == []
    assert report["impact"]["data_at_risk"] is True and code == 1


def test_a_before_snapshot_still_serves_as_the_earlier_side_of_the_diff(tmp_path: Path) -> None:
    files = {
        "partitions_before.txt": show_partitions(HEALTHY),
        "partitions.txt": show_partitions(FAILED),
    }
    _, report = report_of(bundle(tmp_path, files))
    (db,) = report["impact"]["databases"]
    assert db["snapshot"]["partitions"].endswith("sql/partitions.txt#0")
    assert db["snapshot_diff"]["before"].endswith("sql/partitions_before.txt#0")
    assert not any("was captured before the rebalance" in a for a in report["assumptions"])


# --------------------------------------------------------------------------- unknown (3)


def test_a_failed_database_no_snapshot_shows_has_data_at_risk_unknown(tmp_path: Path) -> None:
    """Only another database's SHOW PARTITIONS: nothing says whether `orders` lost data."""
    sql = bundle(tmp_path, {"partitions_crm.txt": show_partitions(HEALTHY, "crm")})
    code, report = report_of(sql)
    impact = report["impact"]
    assert [d["database"] for d in impact["databases"]] == ["crm"]
    assert impact["data_at_risk"] is None and code == 1
    assert [u["database"] for u in impact["unseen"]] == ["orders"]
    assert any(w.startswith("orders: no partition snapshot shows") for w in impact["warnings"])
    assert blocked(report) == [4, 5]
    _, terminal = analyze(sql)
    assert f"Data at risk: {UNKNOWN} of orders" in flat(terminal)
    assert "Data at risk: no" not in flat(terminal)
    md, page = tmp_path / "r.md", tmp_path / "r.html"
    analyze(sql, "--md", str(md), "--html", str(page))
    assert f"- Data at risk: **{UNKNOWN} of orders**" in md.read_text()
    html = page.read_text()
    assert f'<strong class="risk-unknown">{UNKNOWN} of orders</strong>' in html
    assert '<dd class="risk-unknown">unknown' in html  # the verdict's own line


def test_a_partition_without_master_elsewhere_still_says_yes(tmp_path: Path) -> None:
    """Data is at risk in crm: that is known, whatever orders' state."""
    sql = bundle(tmp_path, {"partitions_crm.txt": show_partitions(FAILED, "crm")})
    _, report = report_of(sql)
    assert report["impact"]["data_at_risk"] is True
    assert [u["database"] for u in report["impact"]["unseen"]] == ["orders"]


def test_the_bundles_own_folder_name_does_not_set_a_snapshot_aside(tmp_path: Path) -> None:
    """A bundle called pre-prod-incident: 'pre' names the cluster, not the capture."""
    root = tmp_path / "pre-prod-incident"
    root.mkdir()
    _, report = report_of(bundle(root, {"partitions.txt": show_partitions(FAILED)}))
    (db,) = report["impact"]["databases"]
    assert db["partitions_without_master"] == [7] and report["impact"]["unseen"] == []
