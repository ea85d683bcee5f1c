"""forensics.recovery: the five-step runbook and its safety gates (SPEC §5.2)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics import grammars, schemas
from forensics.impact import Impact, compute_impact
from forensics.recovery import CAUSE_ORDER, attach_sql, blocked_steps, build_runbook

NODES = [f"10.0.0.{i}:3306" for i in range(1, 7)]
CAUSES = CAUSE_ORDER[:11]
FACTORS = CAUSE_ORDER[11:]


def copy(db: str, ordinal: int, node: str, role: str) -> dict[str, Any]:
    kind = "cluster_status" if role == "Orphan" else "partitions"
    return {"database": db, "ordinal": ordinal, "node": node, "role": role,
            "snapshot": f"{kind}.txt#0", "snapshot_kind": kind}  # fmt: skip


def impact_of(rows: list[dict[str, Any]], redundancy: str | None = "2", **kw: Any) -> Impact:
    parts = (
        schemas.conform(pl.DataFrame(rows), schemas.PARTITIONS)
        if rows
        else schemas.empty(schemas.PARTITIONS)
    )
    variables = (
        schemas.conform(
            pl.DataFrame([{"name": "redundancy_level", "value": redundancy, "node": "ma"}]),
            schemas.VARIABLES,
        )
        if redundancy
        else schemas.empty(schemas.VARIABLES)
    )
    return compute_impact(parts, variables, schemas.empty(schemas.DISK_USAGE), **kw)


def paired(db: str, n: int) -> list[dict[str, Any]]:
    return [
        c
        for o in range(n)
        for c in (copy(db, o, NODES[0], "Master"), copy(db, o, NODES[1], "Replica"))
    ]


def failure(
    db: str = "sales", phase: str = "copy", cause: str = "kill", **kw: Any
) -> dict[str, Any]:
    return {"database": db, "status": "failure", "phase": phase, "cause": cause,
            "finding": "F1", "summary": "...", **kw}  # fmt: skip


FINDING = {"id": "F1", "role": "cause", "cause": "kill", "database": "sales", "ordinal": 3,
           "time": "2024-05-02T10:11:12Z",
           "evidence": [{"text": "ERROR 1317 (70100): Query execution was interrupted"}]}  # fmt: skip


def by_step(runbook: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {s["step"]: s for s in runbook}


def assert_shape(runbook: list[dict[str, Any]]) -> None:
    assert [s["step"] for s in runbook] == [1, 2, 3, 4, 5]
    for s in runbook:
        assert set(s) == {"step", "title", "detail", "sql", "blocked_by"}
        assert s["title"] and isinstance(s["detail"], str) and isinstance(s["sql"], list)
        assert s["blocked_by"] is None or isinstance(s["blocked_by"], str)


# --------------------------------------------------------------------------- examples


def test_copy_failure_runbook() -> None:
    rows = [*paired("sales", 4), copy("sales", 3, NODES[3], "Replica")]
    impact = impact_of(rows, failing_phases={"sales": "copy"})
    runbook = build_runbook([failure()], impact, [FINDING], cluster_hint="10.0.0.9:3306")
    assert_shape(runbook)
    steps = by_step(runbook)
    assert "2024-05-02T10:11:12Z" in steps[1]["detail"]
    assert "COPY PARTITION sales:3" in steps[1]["detail"]
    assert "Query execution was interrupted" in steps[1]["detail"]
    assert "10.0.0.9:3306" in steps[1]["detail"]
    assert steps[1]["sql"] == ["SHOW REBALANCE STATUS ON sales;"]
    assert (
        "SELECT * FROM information_schema.distributed_partitions_on_leaves "
        "WHERE database_name = 'sales';" in steps[2]["sql"]
    )
    assert "SHOW PARTITIONS ON sales;" in steps[2]["sql"]
    assert "distributed_partitions_on_leaves" in steps[2]["detail"]
    assert "SHOW PARTITIONS ON <db>" in steps[2]["detail"]
    assert "kill script" in steps[3]["detail"]
    assert steps[4]["sql"] == ["EXPLAIN REBALANCE ALL DATABASES;", "REBALANCE ALL DATABASES;"]
    assert steps[5]["sql"] == ["EXPLAIN CLEAR ORPHAN DATABASES;", "CLEAR ORPHAN DATABASES;"]
    # the snapshot is SHOW PARTITIONS only: it cannot show orphans, so none is no proof
    assert "(not needed" not in steps[5]["detail"]
    assert "not orphans" in steps[5]["detail"]
    assert blocked_steps(runbook) == []


def test_drop_failure_with_orphans_step5_lists_them_and_is_open() -> None:
    rows = [*paired("web", 2), copy("web", 1, NODES[4], "Orphan")]
    runbook = build_runbook([failure("web", "drop", "storage_error")], impact_of(rows), [])
    steps = by_step(runbook)
    assert steps[5]["blocked_by"] is None
    assert f"web:1 on {NODES[4]}" in steps[5]["detail"]
    assert "Free disk space" in steps[3]["detail"]


def test_data_at_risk_attach_first_and_blocks_4_and_5() -> None:
    rows = [copy("x_test", 0, "127.0.0.1:10001", "Master"), copy("x_test", 0, "127.0.0.1:10002", "Replica"),
            copy("x_test", 1, "127.0.0.1:10001", "Replica"), copy("x_test", 1, "127.0.0.1:10002", "Orphan")]  # fmt: skip
    runbook = build_runbook([failure("x_test", "drop", "node_failure")], impact_of(rows), [])
    steps = by_step(runbook)
    assert "ATTACH PARTITION x_test:1 ON '127.0.0.1':10002;" in steps[2]["sql"]
    assert "FIRST" in steps[2]["detail"]
    for forbidden in ("REBALANCE", "RESTORE REDUNDANCY", "CLEAR ORPHAN DATABASES"):
        assert forbidden in steps[2]["detail"]
    assert "x_test:1" in steps[4]["blocked_by"] and "only copy" in steps[4]["blocked_by"]
    assert "x_test:1" in steps[5]["blocked_by"]
    assert blocked_steps(runbook) == [4, 5]


def test_no_master_and_no_copy_anywhere() -> None:
    rows = [*paired("a", 1), copy("a", 1, NODES[2], "Replica")]
    impact = impact_of(rows)
    runbook = build_runbook([failure("a")], impact, [])
    steps = by_step(runbook)
    assert not any(s.startswith("ATTACH") for s in steps[2]["sql"])
    assert blocked_steps(runbook) == [4, 5]


def test_under_redundant_blocks_only_step5() -> None:
    rows = [*paired("a", 2), copy("a", 2, NODES[0], "Master"), copy("a", 2, NODES[3], "Orphan")]
    runbook = build_runbook([failure("a", "promote", "lsn_wait_timeout")], impact_of(rows), [])
    steps = by_step(runbook)
    assert steps[4]["blocked_by"] is None
    assert "under redundancy" in steps[5]["blocked_by"] and "a:2" in steps[5]["blocked_by"]


def test_no_snapshot_runbook_still_built_and_step5_blocked() -> None:
    impact = impact_of([])
    assert impact.to_json() is None
    for given_impact in (impact, None):
        runbook = build_runbook([failure()], given_impact, [FINDING])
        assert_shape(runbook)
        steps = by_step(runbook)
        assert steps[5]["blocked_by"] == (
            "no partition snapshot: cannot verify that every partition has a master"
        )
        assert "no partition snapshot" in steps[2]["detail"]
        assert "SHOW PARTITIONS ON sales;" in steps[2]["sql"]
        assert "(not needed" not in steps[5]["detail"]


def test_no_failure_still_five_steps() -> None:
    runbook = build_runbook(
        [{"database": None, "status": "no_failure", "phase": None, "cause": None,
          "finding": None, "summary": "no rebalance failure"}],
        impact_of(paired("a", 2)), [],
    )  # fmt: skip
    assert_shape(runbook)
    steps = by_step(runbook)
    for n in (1, 2, 3, 4, 5):
        assert "Nothing failed" in steps[n]["detail"]
    assert blocked_steps(runbook) == []


def test_contributing_factors_and_causes_in_step3() -> None:
    findings = [
        FINDING,
        {"id": "F2", "role": "contributing", "cause": "concurrent_ddl", "database": "sales"},
        {"id": "F3", "role": "contributing", "factor": "backup_overlap", "database": None},
        {"id": "F4", "role": "contributing", "cause": "merger_load", "database": "other"},
    ]
    verdicts = [failure(), failure("inv", "promote", "out_of_memory")]
    step3 = by_step(build_runbook(verdicts, impact_of(paired("sales", 1)), findings))[3]
    detail = step3["detail"]
    assert "OPTIMIZE TABLE" in detail and "kill script" in detail and "maximum_memory" in detail
    assert "BACKUP DATABASE" in detail
    assert "merger backlog" not in detail  # factor on another database
    assert detail.index("Out of memory") < detail.index("External interruption")
    assert "no user workload" in detail


@pytest.mark.parametrize("cause", CAUSE_ORDER)
def test_every_cause_has_text(cause: str) -> None:
    entry = grammars.load("recovery")["causes"][cause]
    assert entry["title"] and entry["actions"]
    verdict = failure(cause=cause if cause in CAUSES else "unknown")
    findings = [{"id": "F9", "role": "contributing", "cause": cause}] if cause in FACTORS else []
    step3 = by_step(build_runbook([verdict], None, findings))[3]
    assert entry["actions"][0] in step3["detail"]


def test_unknown_cause_value_falls_back() -> None:
    step3 = by_step(build_runbook([failure(cause="cosmic_ray")], None, []))[3]
    assert grammars.load("recovery")["causes"]["unknown"]["actions"][0] in step3["detail"]


def test_sql_quoting() -> None:
    assert attach_sql("my-db", 4, "leaf-1.example:3307") == (
        "ATTACH PARTITION `my-db`:4 ON 'leaf-1.example':3307;"
    )
    step2 = by_step(build_runbook([failure("o'db")], None, []))[2]
    assert "WHERE database_name = 'o''db';" in step2["sql"][0]


def test_verdict_time_and_error_override_finding() -> None:
    verdict = failure(time="2024-01-01T00:00:00Z", error="Lock wait timeout exceeded")
    detail = by_step(build_runbook([verdict], None, [FINDING]))[1]["detail"]
    assert "2024-01-01T00:00:00Z" in detail and "Lock wait timeout exceeded" in detail


# --------------------------------------------------------------------------- properties


@st.composite
def layouts(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for db in draw(st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=2, unique=True)):
        for o in draw(st.lists(st.integers(0, 7), min_size=1, max_size=6, unique=True)):
            nodes = draw(st.permutations(NODES))
            roles = draw(
                st.lists(st.sampled_from(["Master", "Replica", "Orphan"]), min_size=1, max_size=4)
            )
            masters = 0
            for node, role in zip(nodes, roles, strict=False):
                if role == "Master" and masters:
                    role = "Replica"
                masters += role == "Master"
                rows.append(copy(db, o, node, role))
    return rows


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layouts(),
    st.one_of(st.none(), st.sampled_from(["1", "2", "3"])),
    st.sampled_from(["failure", "no_failure", "inconclusive"]),
    st.sampled_from(CAUSES),
)
def test_step5_never_open_while_unsafe(
    rows: list[dict[str, Any]], redundancy: str | None, status: str, cause: str
) -> None:
    impact = impact_of(rows, redundancy)
    verdict = {"database": "a", "status": status, "phase": "copy", "cause": cause, "finding": None}
    runbook = build_runbook([verdict], impact, [])
    assert_shape(runbook)
    steps = by_step(runbook)
    dbs = impact.to_json()["databases"]
    # a failed database the snapshot does not show is unchecked: as unsafe as no master
    unseen = status == "failure" and "a" not in {d["database"] for d in dbs}
    unsafe = unseen or any(d["partitions_without_master"] or d["under_redundant"] for d in dbs)
    # a redundancy guessed as 1 while some partition has two copies may really be 2
    unsafe = unsafe or any(db.redundancy_unsure for db in impact.databases)
    assert (steps[5]["blocked_by"] is not None) == unsafe
    no_master = unseen or any(d["partitions_without_master"] for d in dbs)
    assert (steps[4]["blocked_by"] is not None) == no_master
    attaches = [s for s in steps[2]["sql"] if s.startswith("ATTACH PARTITION")]
    for d in dbs:
        orphaned = {x["ordinal"] for x in d["orphans"]} & set(d["partitions_without_master"])
        assert len([s for s in attaches if f" {d['database']}:" in s]) == len(orphaned)


def test_a_failed_database_without_its_own_snapshot_blocks_retry_and_cleanup() -> None:
    """The snapshot shows another database only: nothing is known of the failed one's
    masters, so steps 4 and 5 wait for step 2."""
    rows = [
        {"database": "crm", "ordinal": 0, "node": NODES[0], "role": "Master",
         "snapshot": "p.txt#0", "snapshot_kind": "partitions"},
        {"database": "crm", "ordinal": 0, "node": NODES[1], "role": "Replica",
         "snapshot": "p.txt#0", "snapshot_kind": "partitions"},
    ]  # fmt: skip
    verdict = {"database": "sales", "status": "failure", "phase": "copy", "cause": "node_failure",
               "finding": None}  # fmt: skip
    steps = by_step(build_runbook([verdict], impact_of(rows, "2"), []))
    assert "no partition snapshot of sales" in (steps[4]["blocked_by"] or "")
    assert "no partition snapshot of sales" in (steps[5]["blocked_by"] or "")


# --------------------------------------------------------------------------- probe cases


def test_without_any_snapshot_a_failure_blocks_the_retry_too() -> None:
    steps = by_step(build_runbook([failure()], None, [FINDING]))
    assert "sales" in steps[4]["blocked_by"] and "step 2" in steps[4]["blocked_by"]


def test_masters_on_a_leaf_shown_offline_are_no_masters() -> None:
    """SHOW PARTITIONS still says Master for copies on a leaf that SHOW LEAVES shows
    offline: those partitions have no working master, and cleanup stays blocked."""
    rows = [*paired("m", 2), copy("m", 2, NODES[2], "Master"), copy("m", 2, NODES[3], "Orphan")]
    leaves = schemas.conform(
        pl.DataFrame(
            [{"node": NODES[2], "state": "offline"}, {"node": NODES[0], "state": "online"}]
        ),
        schemas.LEAVES,
    )
    impact = impact_of(rows, redundancy="1", leaves=leaves)
    (db,) = impact.databases
    assert db.partitions_without_master == [2] and impact.data_at_risk
    assert blocked_steps(build_runbook([failure("m")], impact, [])) == [4, 5]


def test_an_unrecoverable_replica_does_not_count_toward_redundancy() -> None:
    rows = [*paired("u", 2), copy("u", 2, NODES[0], "Master"),
            {**copy("u", 2, NODES[1], "Replica"), "state": "unrecoverable"}]  # fmt: skip
    (db,) = impact_of(rows).databases
    assert db.under_redundant == [2]


def test_attach_prefers_an_orphan_that_is_not_the_failed_copy_target() -> None:
    rows = [
        *paired("geo", 2),
        copy("geo", 2, NODES[2], "Orphan"),
        copy("geo", 2, NODES[3], "Orphan"),
    ]
    failed = failure("geo", failed_step={"phase_kind": "copy", "ordinal": 2, "target": NODES[2]})
    steps = by_step(build_runbook([failed], impact_of(rows), []))
    host, port = NODES[3].split(":")
    assert [s for s in steps[2]["sql"] if s.startswith("ATTACH")] == [
        f"ATTACH PARTITION geo:2 ON '{host}':{port};"
    ]
    # when the failed copy's target holds the only orphan, it is proposed with a caution,
    # in the text only: the SQL to copy is what is safe to run
    only = [*paired("geo", 2), copy("geo", 2, NODES[2], "Orphan")]
    steps = by_step(build_runbook([failed], impact_of(only), []))
    assert not any(s.startswith("ATTACH") for s in steps[2]["sql"])
    assert "may be incomplete" in steps[2]["detail"]
    assert f"ATTACH PARTITION geo:2 ON '{NODES[2].split(':')[0]}'" in steps[2]["detail"]


def test_a_working_replica_ahead_of_a_half_made_copy_is_promoted_not_the_orphan_attached() -> None:
    """The failed COPY's target is the orphan; a replica kept replicating: attaching the
    orphan would make a partial copy the master."""
    rows = [
        *paired("bank", 1),
        {**copy("bank", 1, NODES[0], "Master"), "state": "offline"},
        {**copy("bank", 1, NODES[2], "Replica"), "position": "7:880000"},
        {**copy("bank", 1, NODES[3], "Orphan"), "position": "2:10000"},
    ]
    failed = failure("bank", failed_step={"phase_kind": "copy", "ordinal": 1, "target": NODES[3]})
    steps = by_step(build_runbook([failed], impact_of(rows), []))
    assert not any(s.startswith("ATTACH") for s in steps[2]["sql"])
    assert f"PROMOTE PARTITION bank:1 ON '{NODES[2].split(':')[0]}'" in steps[2]["detail"]
    # not the failed copy's target, but behind the replica: the replica too
    failed = failure("bank", failed_step={"phase_kind": "copy", "ordinal": 0, "target": NODES[3]})
    steps = by_step(build_runbook([failed], impact_of(rows), []))
    assert not any(s.startswith("ATTACH") for s in steps[2]["sql"])
    # level with the replica (the orphan documentation's example): attached
    rows[-1] = {**rows[-1], "position": "7:880000"}
    steps = by_step(build_runbook([failed], impact_of(rows), []))
    assert any(s.startswith("ATTACH PARTITION bank:1") for s in steps[2]["sql"])


def test_a_failure_of_an_unnamed_database_blocks_retry_and_cleanup() -> None:
    """The status output named no database; the snapshots cover other ones: the failed
    database's state is unknown."""
    steps = by_step(build_runbook([failure(db=None)], impact_of(paired("events", 2)), []))
    assert "not named" in steps[4]["blocked_by"] and "not named" in steps[5]["blocked_by"]


def test_a_redundancy_guessed_as_1_from_a_damaged_snapshot_keeps_cleanup_closed() -> None:
    """No redundancy_level: most partitions have one copy (the failure took the others),
    two still have two. Redundancy 1 is a guess; the single copies may be under-redundant."""
    rows = [copy("d", o, NODES[0], "Master") for o in range(6)]
    rows += [copy("d", o, NODES[1], "Replica") for o in (0, 1)]
    rows += [copy("d", 3, NODES[2], "Orphan")]
    steps = by_step(build_runbook([failure("d")], impact_of(rows, redundancy=None), []))
    assert "redundancy_level" in steps[5]["blocked_by"]


def test_attach_skips_an_orphan_on_a_leaf_that_is_down() -> None:
    rows = [
        *paired("geo", 2),
        copy("geo", 2, NODES[2], "Orphan"),
        copy("geo", 2, NODES[3], "Orphan"),
    ]
    leaves = schemas.conform(pl.DataFrame([{"node": NODES[2], "state": "offline"}]), schemas.LEAVES)
    steps = by_step(build_runbook([failure("geo")], impact_of(rows, leaves=leaves), []))
    host, port = NODES[3].split(":")
    assert [s for s in steps[2]["sql"] if s.startswith("ATTACH")] == [
        f"ATTACH PARTITION geo:2 ON '{host}':{port};"
    ]


def test_an_orphan_ahead_of_its_master_keeps_cleanup_closed() -> None:
    """The master was recreated empty (log position 0:4096); the orphan is at 412:88123311:
    it holds the data, so it is no extra copy and CLEAR ORPHAN DATABASES is blocked."""
    rows = [*paired("l", 5), {**copy("l", 5, NODES[0], "Master"), "position": "0:4096"},
            {**copy("l", 5, NODES[1], "Replica"), "position": "0:4096"},
            {**copy("l", 5, NODES[3], "Orphan"), "position": "412:88123311"}]  # fmt: skip
    impact = impact_of(rows)
    assert impact.databases[0].extra_copies == 0
    steps = by_step(build_runbook([failure("l")], impact, []))
    assert "further in the replication log" in steps[5]["blocked_by"]


def test_attach_proposes_the_orphan_furthest_in_the_log() -> None:
    rows = [*paired("l", 5), {**copy("l", 5, NODES[2], "Orphan"), "position": "0:4096"},
            {**copy("l", 5, NODES[3], "Orphan"), "position": "412:88123311"}]  # fmt: skip
    steps = by_step(build_runbook([failure("l")], impact_of(rows), []))
    host, port = NODES[3].split(":")
    assert [s for s in steps[2]["sql"] if s.startswith("ATTACH")] == [
        f"ATTACH PARTITION l:5 ON '{host}':{port};"
    ]


def test_a_down_leaf_named_otherwise_than_the_snapshots_blocks_retry_and_cleanup() -> None:
    leaves = schemas.conform(
        pl.DataFrame([{"node": "leaf-2.prod.internal:3306", "state": "offline"}]), schemas.LEAVES
    )
    impact = impact_of(paired("a", 2), leaves=leaves)
    steps = by_step(build_runbook([failure("a")], impact, []))
    assert "leaf-2.prod.internal:3306" in steps[4]["blocked_by"]
    assert "leaf-2.prod.internal:3306" in steps[5]["blocked_by"]


# --------------------------------------------------------------------------- probe 11


def positioned(db: str, ordinal: int, node: str, role: str, position: str) -> dict[str, Any]:
    """A SHOW CLUSTER STATUS row (it shows every role, with the log position)."""
    return {**copy(db, ordinal, node, role), "snapshot": "cluster_status.txt#0",
            "snapshot_kind": "cluster_status", "position": position}  # fmt: skip


def test_an_orphan_ahead_of_its_master_blocks_the_retry_too() -> None:
    """The master of l:1 was recreated empty (0:4096); the orphan is at 6:88123. REBALANCE
    may drop the orphan that is the last good copy: step 4 is blocked like step 5, step 2
    names the orphan, and no statement calls the master authoritative or the orphan idle."""
    rows = [positioned("l", 0, NODES[0], "Master", "7:9000"),
            positioned("l", 1, NODES[1], "Master", "0:4096"),
            positioned("l", 1, NODES[0], "Orphan", "6:88123")]  # fmt: skip
    impact = impact_of(rows, redundancy="1", failing_phases={"l": "copy"})
    steps = by_step(build_runbook([failure("l")], impact, []))
    assert blocked_steps(list(steps.values())) == [4, 5]
    assert f"l:1 on {NODES[0]}" in steps[4]["blocked_by"]
    assert f"l:1 on {NODES[0]}" in steps[2]["detail"]
    assert "further in the replication log" in steps[2]["detail"]
    statements = " ".join(impact.databases[0].phase_statements)
    assert "authoritative" not in statements and "no data the masters lack" not in statements
    assert "only or the latest copy" in statements
    assert "clear the orphans" not in steps[5]["detail"] and "Keep l:1" in steps[5]["detail"]


def test_two_masters_of_one_partition_block_retry_and_cleanup() -> None:
    """fleet:0 has a master on two leaves after a failed PROMOTE: the metadata contradicts
    itself; it is no healthy partition, and nothing may drop either copy yet."""
    rows = [copy("fleet", 0, NODES[0], "Master"), copy("fleet", 0, NODES[3], "Master"),
            copy("fleet", 1, NODES[1], "Master"), copy("fleet", 1, NODES[0], "Replica")]  # fmt: skip
    impact = impact_of(rows, failing_phases={"fleet": "promote"})
    assert any("more than one master" in w and "fleet:0" in w for w in impact.warnings)
    steps = by_step(build_runbook([failure("fleet", "promote")], impact, []))
    assert blocked_steps(list(steps.values())) == [4, 5]
    assert "fleet:0" in steps[4]["blocked_by"] and "more than one master" in steps[4]["blocked_by"]
    assert "fleet:0" in steps[5]["blocked_by"]
    assert "redundancy 2 met" not in steps[2]["detail"]
    assert "more than one master" in steps[2]["detail"]
    # with a replica too it is over redundancy, but the new copy is no unpromoted replica
    over = impact_of([*rows, copy("fleet", 0, NODES[2], "Replica")],
                     failing_phases={"fleet": "promote"})  # fmt: skip
    assert over.databases[0].over_redundant == [0]
    statements = " ".join(over.databases[0].phase_statements)
    assert "unpromoted replica" not in statements and "authoritative partition" not in statements
    assert "more than one master" in statements


def test_a_failed_drop_whose_copy_left_the_metadata_is_a_probable_orphan() -> None:
    """Only SHOW PARTITIONS before and after: audit:1 on node 3 left the metadata, and the
    DROP there failed. SHOW PARTITIONS cannot show orphans: the copy is probably one."""
    after = paired("audit", 3)
    before = [{**c, "snapshot": "partitions_before.txt#0"}
              for c in [*after, copy("audit", 1, NODES[2], "Replica")]]  # fmt: skip
    impact = impact_of(
        [*before, *[{**c, "snapshot": "partitions_after.txt#0"} for c in after]],
        failing_phases={"audit": "drop"},
    )
    failed = failure("audit", "drop", "storage_error",
                     failed_step={"phase_kind": "drop", "ordinal": 1, "target": NODES[2]})  # fmt: skip
    steps = by_step(build_runbook([failed], impact, []))
    assert f"audit:1 on {NODES[2]}" in steps[5]["detail"]
    assert "probably still on disk as an orphan" in steps[5]["detail"]
    assert "SHOW CLUSTER STATUS" in steps[5]["detail"] and "(not needed" not in steps[5]["detail"]
    statements = " ".join(impact.databases[0].phase_statements)
    assert "No leftover old copies" not in statements
    assert "not orphans" in statements


def test_a_partition_without_master_and_with_a_live_replica_is_promoted() -> None:
    """Redundancy 1; leaf 3 is offline with the masters of geo:2 and geo:5; geo:2 has a
    working replica on leaf 4 (the COPY's target). No orphan anywhere: the way back is
    promoting the replica (geo:2) or the leaf (geo:5), never "ATTACH ... of the orphan"."""
    rows = [copy("geo", 0, NODES[0], "Master"), copy("geo", 1, NODES[1], "Master"),
            copy("geo", 2, NODES[2], "Master"), copy("geo", 2, NODES[3], "Replica"),
            copy("geo", 3, NODES[0], "Master"), copy("geo", 4, NODES[1], "Master"),
            copy("geo", 5, NODES[2], "Master")]  # fmt: skip
    leaves = schemas.conform(pl.DataFrame([{"node": NODES[2], "state": "offline"}]), schemas.LEAVES)
    impact = impact_of(rows, redundancy="1", leaves=leaves, failing_phases={"geo": "copy"})
    steps = by_step(build_runbook([failure("geo", "copy", "network_error")], impact, []))
    host, port = NODES[3].split(":")
    assert f"PROMOTE PARTITION geo:2 ON '{host}':{port}" in steps[2]["detail"]
    assert "working replica of partition geo:2" in steps[4]["blocked_by"]
    assert "leaf holding partition geo:5 back online" in steps[4]["blocked_by"]
    assert "of the orphan" not in steps[4]["blocked_by"]
    statements = " ".join(impact.databases[0].phase_statements)
    assert "No extra replica and no orphan" not in statements


def test_one_extra_copy_is_singular() -> None:
    rows = [*paired("s", 2), copy("s", 1, NODES[3], "Replica")]
    steps = by_step(build_runbook([failure("s")], impact_of(rows), []))
    assert "; 1 extra copy." in steps[2]["detail"]
