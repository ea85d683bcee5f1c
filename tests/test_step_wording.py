"""Step wordings that need more than one line: a step named by its number only, an
outcome line naming no partition, a failure that a retry made good."""

from __future__ import annotations

import polars as pl

from forensics.parsers.tracelog import parse_lines
from forensics.timeline import log_steps


def _events(messages: list[tuple[str, str]]) -> pl.DataFrame:
    """(thread, message) pairs as tracelog lines, one second apart."""
    lines = [
        f"{5000000000 + i * 1000000} 2026-03-10 02:00:{i:02d}.000000   INFO: Thread {t}: {m}"
        for i, (t, m) in enumerate(messages)
    ]
    return parse_lines(lines)


def _statuses(events: pl.DataFrame) -> dict[tuple[int, str], str]:
    steps = log_steps(events)
    return {(r["ordinal"], r["phase_kind"]): r["status"] for r in steps.iter_rows(named=True)}


def test_step_number_takes_the_fields_of_the_announced_step():
    events = _events(
        [
            ("7", "Rebalance: step 1/4: executing `COPY PARTITION sales:3 TO '10.0.0.13':3306`"),
            ("7", "Rebalance: step 1/4 done in 59012 ms"),
            ("7", "Rebalance: step 2 of 4 (COPY PARTITION sales:7, target 10.0.0.12:3306) started"),
            (
                "7",
                "Rebalance: step 2/4 returned error 1712: Leaf Error (10.0.0.12:3306): Not enough",
            ),
        ]
    )
    rows = events.select("database", "ordinal", "target", "step_event").rows()
    assert rows[1] == ("sales", 3, "10.0.0.13:3306", "step_success")
    assert rows[3] == ("sales", 7, "10.0.0.12:3306", "step_failure")
    assert _statuses(events) == {(3, "copy"): "success", (7, "copy"): "failed"}


def test_step_number_without_an_announcement_is_no_event():
    events = _events(
        [
            ("7", "Rebalance: step 2/4 (COPY PARTITION sales:7 TO '10.0.0.12':3306) started"),
            ("8", "Rebalance: step 2/4 done"),  # another thread
            ("7", "Rebalance: step 3/4 returned error 1712"),  # never announced
        ]
    )
    assert events.get_column("step_event").to_list() == ["step_start", None, None]
    assert events.get_column("database").to_list() == ["sales", None, None]


def test_outcome_without_partition_goes_to_the_threads_only_open_step():
    events = _events(
        [
            ("1", "CopyPartition: COPY PARTITION sales:3 TO '10.0.0.13':3306 started"),
            ("2", "CopyPartition: COPY PARTITION sales:5 TO '10.0.0.12':3306 started"),
            ("2", "CopyPartition: failed: Leaf Error (10.0.0.12:3306): Lock wait timeout exceeded"),
            ("1", "CopyPartition: done"),
        ]
    )
    assert events.select("ordinal").to_series().to_list() == [3, 5, 5, 3]
    assert _statuses(events) == {(3, "copy"): "success", (5, "copy"): "failed"}


def test_outcome_without_partition_stays_loose_when_two_steps_are_open():
    events = _events(
        [
            ("1", "CopyPartition: COPY PARTITION sales:3 TO '10.0.0.13':3306 started"),
            ("1", "CopyPartition: COPY PARTITION sales:5 TO '10.0.0.12':3306 started"),
            ("1", "CopyPartition: failed: Lock wait timeout exceeded"),
        ]
    )
    assert events.get_column("database").to_list() == ["sales", "sales", None]


def test_latest_outcome_decides_a_retried_step():
    events = _events(
        [
            ("1", "RebalanceStep: COPY PARTITION sales:3 TO '10.0.0.13':3306 started"),
            (
                "1",
                "RebalanceStep: COPY PARTITION sales:3 TO '10.0.0.13':3306 failed: "
                "Connection reset by peer; will retry (attempt 1 of 3)",
            ),
            (
                "1",
                "RebalanceStep: COPY PARTITION sales:3 TO '10.0.0.13':3306 succeeded after 1 retry",
            ),
            ("1", "RebalanceStep: PROMOTE PARTITION sales:3 ON '10.0.0.13':3306 started"),
            ("1", "RebalanceStep: PROMOTE PARTITION sales:3 ON '10.0.0.13':3306 completed"),
            ("1", "RebalanceStep: PROMOTE PARTITION sales:3 ON '10.0.0.13':3306 failed: lost"),
        ]
    )
    assert _statuses(events) == {(3, "copy"): "success", (3, "promote"): "failed"}


def test_database_names_with_failure_words_are_no_failure():
    events = _events(
        [
            ("1", "REBALANCE PARTITIONS ON errors started"),
            ("1", "RebalanceStep: COPY PARTITION errors:3 TO '10.0.0.13':3306 completed"),
            ("1", "RebalanceStep: COPY PARTITION `app-errors`:3 TO '10.0.0.13':3306 completed"),
            ("1", "REBALANCE PARTITIONS ON `app-errors` completed"),
        ]
    )
    assert events.get_column("step_event").to_list() == [
        "rebalance_start",
        "step_success",
        "step_success",
        "rebalance_success",
    ]
