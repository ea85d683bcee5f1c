"""forensics.impact: CONTRACTS.md "Impact arithmetic", snapshot choice and diff, plan vs actual."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics import grammars, schemas
from forensics.impact import (
    STATEMENT_PREDICATES,
    compute_impact,
    diff_snapshots,
    plan_vs_actual,
    snapshot_order_key,
    statement_fields,
)
from forensics.loader import load_bundle

NODES = [f"10.0.0.{i}:3306" for i in range(1, 7)]
SNAP = "after/partitions.txt#0"
CLUSTER = "after/cluster_status.txt#0"


def copy(db: str, ordinal: int | None, node: str, role: str, **extra: Any) -> dict[str, Any]:
    snapshot = CLUSTER if role == "Orphan" else SNAP
    kind = "cluster_status" if snapshot == CLUSTER else "partitions"
    return {"database": db, "ordinal": ordinal, "node": node, "role": role,
            "snapshot": snapshot, "snapshot_kind": kind, **extra}  # fmt: skip


def partitions(rows: list[dict[str, Any]]) -> pl.DataFrame:
    if not rows:
        return schemas.empty(schemas.PARTITIONS)
    return schemas.conform(pl.DataFrame(rows), schemas.PARTITIONS)


def variables(*values: tuple[str, str]) -> pl.DataFrame:
    if not values:
        return schemas.empty(schemas.VARIABLES)
    rows = [{"name": "redundancy_level", "value": v, "node": n} for n, v in values]
    return schemas.conform(pl.DataFrame(rows), schemas.VARIABLES)


def disk(*rows: tuple[str, int | None, str, int]) -> pl.DataFrame:
    if not rows:
        return schemas.empty(schemas.DISK_USAGE)
    data = [{"database": d, "ordinal": o, "node": n, "size_bytes": s} for d, o, n, s in rows]
    return schemas.conform(pl.DataFrame(data), schemas.DISK_USAGE)


def paired(db: str, n: int) -> list[dict[str, Any]]:
    """A healthy redundancy-2 layout: master on node 1, replica on node 2."""
    return [
        c
        for o in range(n)
        for c in (copy(db, o, NODES[0], "Master"), copy(db, o, NODES[1], "Replica"))
    ]


def only_db(impact: Any) -> dict[str, Any]:
    (db,) = impact.to_json()["databases"]
    return db


# --------------------------------------------------------------------------- examples


def test_copy_failure_layout_extra_replicas_tied_to_statement() -> None:
    rows = paired("sales", 8)
    rows += [copy("sales", o, NODES[3], "Replica") for o in (1, 4, 7)]
    impact = compute_impact(
        partitions(rows), variables(("ma", "2")), disk(("sales", None, "ma", 8000)),
        failing_phases={"sales": "copy"},
    )  # fmt: skip
    out = impact.to_json()
    db = only_db(impact)
    assert db["partitions"] == 8
    assert db["redundancy"] == 2 and db["redundancy_assumed"] is False
    assert db["over_redundant"] == [1, 4, 7]
    assert db["under_redundant"] == [] and db["partitions_without_master"] == []
    assert db["extra_copies"] == 3
    assert db["extra_bytes_estimate"] == 3000  # 8000 // 8 per copy
    assert out["extra_bytes_estimate"] == 3000 and out["data_at_risk"] is False
    assert db["per_node_extra_bytes"] == {NODES[3]: 3000}
    statements = " ".join(db["phase_statements"])
    assert "3 partitions have more copies than redundancy 2 (ordinals 1, 4, 7)" in statements
    assert "consistent with a failed COPY" in statements
    assert "authoritative" in statements


def test_drop_failure_with_orphans_and_per_partition_sizes() -> None:
    rows = [copy("web", o, NODES[2], "Master") for o in range(4)]
    rows += [copy("web", o, NODES[3], "Replica") for o in range(4)]
    rows += [copy("web", o, NODES[0], "Orphan") for o in (0, 2)]
    sizes = disk(("web", 0, NODES[2], 100), ("web", 0, NODES[0], 150), ("web", 2, NODES[2], 70),
                 ("web", None, "ma", 999_999))  # fmt: skip
    impact = compute_impact(partitions(rows), variables(("ma", "2")), sizes,
                            failing_phases={"web": "drop"})  # fmt: skip
    db = only_db(impact)
    assert db["orphans"] == [
        {"ordinal": 0, "node": NODES[0], "ahead_of_master": False},
        {"ordinal": 2, "node": NODES[0], "ahead_of_master": False},
    ]
    assert db["extra_copies"] == 2
    assert db["extra_bytes_estimate"] == 150 + 70  # per-partition size wins, max over nodes
    text = " ".join(db["phase_statements"])
    assert "new placement is live" in text
    assert "2 orphan copies visible" in text
    assert "2 extra copies, about 220 bytes" in text


def test_data_at_risk_reference_example() -> None:
    # singlestore-formats.md §4.4: ordinal 1 has a replica and an orphan, no master.
    rows = [copy("x_test", 0, "127.0.0.1:10001", "Master"), copy("x_test", 0, "127.0.0.1:10002", "Replica"),
            copy("x_test", 1, "127.0.0.1:10001", "Replica"), copy("x_test", 1, "127.0.0.1:10002", "Orphan"),
            copy("x_test", None, "127.0.0.1:10001", "Reference")]  # fmt: skip
    impact = compute_impact(partitions(rows), variables(("ma", "2")), disk())
    out = impact.to_json()
    db = only_db(impact)
    assert out["data_at_risk"] is True
    assert db["partitions"] == 2  # reference copy excluded
    assert db["partitions_without_master"] == [1]
    assert db["under_redundant"] == [] and db["over_redundant"] == []
    # the orphan of ordinal 1 may be its best copy: no extra copy, no bytes to free
    assert db["extra_copies"] == 0
    assert db["extra_bytes_estimate"] == 0 and out["extra_bytes_estimate"] == 0


def test_no_snapshot_gives_null_and_warning() -> None:
    impact = compute_impact(partitions([]), variables(("ma", "2")), disk(("a", None, "n", 5)))
    assert impact.to_json() is None
    assert "no partition snapshot in bundle: impact not computed" in impact.warnings


def test_only_reference_rows_is_no_snapshot() -> None:
    impact = compute_impact(
        partitions([copy("a", None, NODES[0], "Reference")]), variables(), disk()
    )
    assert impact.to_json() is None


def test_redundancy_inferred_when_absent() -> None:
    rows = [*paired("a", 3), copy("a", 0, NODES[2], "Replica")]
    impact = compute_impact(partitions(rows), variables(), disk())
    db = only_db(impact)
    assert db["redundancy"] == 2 and db["redundancy_assumed"] is True
    assert db["over_redundant"] == [0]
    assert any("assumed 2" in a for a in impact.assumptions)


def test_redundancy_inference_tie_goes_to_larger() -> None:
    rows = [copy("a", 0, NODES[0], "Master"), copy("a", 1, NODES[0], "Master"),
            copy("a", 1, NODES[1], "Replica")]  # fmt: skip
    db = only_db(compute_impact(partitions(rows), variables(), disk()))
    assert db["redundancy"] == 2 and db["under_redundant"] == [0]


def test_redundancy_two_when_show_leaves_pairs_the_leaves() -> None:
    """A leaf died: the copies left look like redundancy 1, but SHOW LEAVES still shows
    the availability groups of redundancy 2, so the partitions are under-redundant."""
    rows = [copy("a", 0, NODES[1], "Master"), copy("a", 1, NODES[1], "Master"),
            copy("a", 1, NODES[2], "Replica"), copy("a", 2, NODES[1], "Master")]  # fmt: skip
    leaves = schemas.conform(
        pl.DataFrame(
            {
                "node": [NODES[0], NODES[1], NODES[2], NODES[3]],
                "availability_group": [1, 2, 1, 2],
                "pair": [NODES[1], NODES[0], NODES[3], NODES[2]],
                "state": ["offline", "online", "online", "online"],
            }
        ),
        schemas.LEAVES,
    )
    impact = compute_impact(partitions(rows), variables(), disk(), leaves=leaves)
    db = only_db(impact)
    assert db["redundancy"] == 2 and db["redundancy_assumed"] is True
    assert db["under_redundant"] == [0, 2] and db["over_redundant"] == []
    assert any("availability groups (1, 2)" in a for a in impact.assumptions)
    # without pairing (redundancy 1 clusters list one group), redundancy 1 is assumed
    single = leaves.with_columns(pl.lit(1).alias("availability_group"), pl.lit(None).alias("pair"))
    db = only_db(compute_impact(partitions(rows), variables(), disk(), leaves=single))
    assert db["redundancy"] == 1


def test_snapshot_without_a_database_is_read_as_the_only_database() -> None:
    """A SHOW PARTITIONS pasted without its statement: when the rebalance concerns one
    database only, the snapshot is that database's (said in a warning); with two
    candidates it names none and is not used."""
    rows = [{**c, "database": None} for c in paired("a", 2)]
    rows.append(copy("a", 1, NODES[3], "Replica", database=None))
    impact = compute_impact(partitions(rows), variables(("n", "2")), disk(), databases=["a"])
    db = only_db(impact)
    assert db["database"] == "a" and db["over_redundant"] == [1]
    assert any("names no database" in w and "read as a" in w for w in impact.warnings)
    two = compute_impact(partitions(rows), variables(("n", "2")), disk(), databases=["a", "b"])
    assert not two.computed


def test_a_partition_the_snapshot_shows_no_copy_of_has_no_master() -> None:
    """Ordinal 1 missing between 0 and 2, or listed with NULL host and role (the row
    SHOW PARTITIONS gives a partition with no master): both count as without a master."""
    rows = [*paired("a", 1), copy("a", 2, NODES[0], "Master"), copy("a", 2, NODES[1], "Replica")]
    impact = compute_impact(partitions(rows), variables(("n", "2")), disk())
    db = only_db(impact)
    assert db["partitions_without_master"] == [1] and db["partitions"] == 3
    assert any("no copy of ordinal(s) 1" in w for w in impact.warnings)
    listed_empty = [*paired("a", 1), copy("a", 1, None, None)]  # type: ignore[arg-type]
    db = only_db(compute_impact(partitions(listed_empty), variables(("n", "2")), disk()))
    assert db["partitions_without_master"] == [1]


def test_before_and_after_are_read_from_the_file_name_before_its_folders() -> None:
    """A bundle folder named "sales-postmortem" does not make every snapshot a late one."""
    names = ["sales-postmortem/sql/partitions_after.txt#0",
             "sales-postmortem/sql/partitions_before.txt#0", "x/after/p.txt#0", "x/before/p.txt#0"]  # fmt: skip
    ordered = sorted(names, key=snapshot_order_key)
    assert ordered.index("sales-postmortem/sql/partitions_before.txt#0") < ordered.index(
        "sales-postmortem/sql/partitions_after.txt#0"
    )
    assert ordered.index("x/before/p.txt#0") < ordered.index("x/after/p.txt#0")


def test_an_offline_master_is_no_master() -> None:
    rows = [copy("a", 0, NODES[0], "Master", state="offline"), copy("a", 0, NODES[3], "Orphan")]
    db = only_db(compute_impact(partitions(rows), variables(("n", "1")), disk()))
    assert db["partitions_without_master"] == [0]


def test_redundancy_option_used_when_bundle_has_none() -> None:
    impact = compute_impact(partitions(paired("a", 2)), variables(), disk(), redundancy=1)
    db = only_db(impact)
    assert db["redundancy"] == 1 and db["redundancy_assumed"] is False
    assert db["over_redundant"] == [0, 1] and db["extra_copies"] == 2
    assert any("--redundancy 1" in a for a in impact.assumptions)


def test_bundle_redundancy_beats_option() -> None:
    impact = compute_impact(partitions(paired("a", 2)), variables(("n", "2")), disk(), redundancy=1)
    db = only_db(impact)
    assert db["redundancy"] == 2 and db["over_redundant"] == []
    assert "--redundancy 1 not used: the bundle's redundancy_level is 2" in impact.warnings


def test_conflicting_redundancy_takes_max_or_master_and_warns() -> None:
    vars_ = variables(("ma:3306", "1"), ("leaf:3306", "2"))
    impact = compute_impact(partitions(paired("a", 2)), vars_, disk())
    assert only_db(impact)["redundancy"] == 2
    assert any("differs between nodes" in w for w in impact.warnings)
    impact = compute_impact(partitions(paired("a", 2)), vars_, disk(), master_node="ma:3306")
    assert only_db(impact)["redundancy"] == 1


def test_database_size_per_node_is_spread_over_every_copy() -> None:
    """Sizes per node hold masters and replicas: 1000 bytes over 3 partitions x 2 copies."""
    rows = [*paired("a", 3), copy("a", 2, NODES[4], "Orphan")]
    sizes = disk(("a", None, NODES[0], 600), ("a", None, NODES[1], 400))
    db = only_db(compute_impact(partitions(rows), variables(("m", "2")), sizes))
    assert db["extra_bytes_estimate"] == 1000 // 6


def test_per_table_rows_of_a_partition_add_up() -> None:
    """TABLE_STATISTICS gives a row per table and partition copy: a copy is their sum."""
    rows = [*paired("a", 2), copy("a", 1, NODES[4], "Orphan")]
    sizes = disk(("a", 1, NODES[0], 600), ("a", 1, NODES[0], 1000), ("a", 1, NODES[1], 1600))
    db = only_db(compute_impact(partitions(rows), variables(("m", "2")), sizes))
    assert db["extra_bytes_estimate"] == 1600


def test_mixed_per_partition_and_database_sizes() -> None:
    rows = paired("a", 4) + [copy("a", o, NODES[4], "Orphan") for o in (0, 3)]
    sizes = disk(("a", 0, NODES[0], 10), ("a", None, NODES[0], 4000))
    db = only_db(compute_impact(partitions(rows), variables(("m", "2")), sizes))
    assert db["extra_bytes_estimate"] == 10 + 1000


def test_nothing_extra_needs_no_size() -> None:
    impact = compute_impact(partitions(paired("a", 2)), variables(("m", "2")), disk())
    assert only_db(impact)["extra_bytes_estimate"] == 0 and impact.warnings == []


def test_unknown_size_for_one_database_nulls_the_total() -> None:
    rows = paired("a", 2) + paired("b", 2)
    rows += [copy("a", 0, NODES[4], "Orphan"), copy("b", 1, NODES[4], "Orphan")]
    impact = compute_impact(partitions(rows), variables(("m", "2")), disk(("a", None, "m", 50)))
    out = impact.to_json()
    assert [d["extra_bytes_estimate"] for d in out["databases"]] == [25, None]
    assert out["extra_bytes_estimate"] is None
    assert any(w.startswith("b:") for w in impact.warnings)


# --------------------------------------------------------------------------- snapshots


def test_snapshot_order_key() -> None:
    names = ["x/after_rebalance.txt#0", "x/show.txt#1", "x/pre-scaleout/p.txt#3",
             "x/show.txt#0", "x/post.txt#0", "a/compressed.txt#0"]  # fmt: skip
    assert sorted(names, key=snapshot_order_key) == [
        "x/pre-scaleout/p.txt#3", "a/compressed.txt#0", "x/show.txt#0", "x/show.txt#1",
        "x/after_rebalance.txt#0", "x/post.txt#0",
    ]  # fmt: skip


def test_latest_snapshot_is_used_and_diffed() -> None:
    before = [dict(r, snapshot="before.txt#0") for r in paired("a", 2)]
    after = [copy("a", 0, NODES[0], "Master"), copy("a", 0, NODES[2], "Replica"),
             copy("a", 1, NODES[1], "Master"), copy("a", 1, NODES[0], "Replica")]  # fmt: skip
    impact = compute_impact(partitions(before + after), variables(("m", "2")), disk())
    db = only_db(impact)
    assert db["snapshot"]["partitions"] == SNAP
    diff = db["snapshot_diff"]
    assert diff["before"] == "before.txt#0" and diff["after"] == SNAP
    assert diff["moved"] == [{"ordinal": 0, "role": "replica", "from": NODES[1], "to": NODES[2]}]
    assert diff["role_changes"] == [
        {"ordinal": 1, "node": NODES[0], "before": "master", "after": "replica"},
        {"ordinal": 1, "node": NODES[1], "before": "replica", "after": "master"},
    ]
    assert diff["added"] == [] and diff["dropped"] == []
    assert impact.diff == {"a": diff}


def test_diff_added_and_dropped() -> None:
    frame = pl.DataFrame
    before = frame({"ordinal": [0, 1], "node": ["n1", "n1"], "role": ["master", "replica"]})
    after = frame({"ordinal": [0, 2], "node": ["n1", "n3"], "role": ["master", "orphan"]})
    diff = diff_snapshots(before, after)
    assert diff["added"] == [{"ordinal": 2, "node": "n3", "role": "orphan"}]
    assert diff["dropped"] == [{"ordinal": 1, "node": "n1", "role": "replica"}]
    assert diff["moved"] == [] and diff["role_changes"] == []


def test_cluster_status_alone_gives_masters_and_orphans() -> None:
    rows = [dict(copy("a", 0, NODES[0], "Master"), snapshot=CLUSTER, snapshot_kind="cluster_status"),
            dict(copy("a", 0, NODES[1], "Slave"), snapshot=CLUSTER, snapshot_kind="cluster_status"),
            copy("a", 0, NODES[2], "Orphan")]  # fmt: skip
    db = only_db(compute_impact(partitions(rows), variables(("m", "2")), disk()))
    assert db["partitions_without_master"] == [] and db["under_redundant"] == []
    assert db["orphans"] == [{"ordinal": 0, "node": NODES[2], "ahead_of_master": False}]


# --------------------------------------------------------------------------- plan vs actual


def steps(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return schemas.conform(pl.DataFrame(rows), schemas.STEPS)


def step(ordinal: int, status: str | None, origin: str, kind: str = "copy") -> dict[str, Any]:
    action = {"copy": "COPY PARTITION", "drop": "DROP PARTITION"}[kind]
    return {"database": "a", "action": action, "phase_kind": kind, "ordinal": ordinal,
            "target": NODES[3], "phase": 1, "status": status, "origin": origin}  # fmt: skip


def test_plan_vs_actual_not_run_failed_residue() -> None:
    frame = steps([step(0, None, "plan"), step(1, None, "plan"), step(2, None, "plan"),
                   step(0, "failed", "status"), step(1, "cancelled", "status"),
                   step(0, "failed", "log")])  # fmt: skip
    layout = partitions([*paired("a", 3), copy("a", 0, NODES[3], "Replica")])
    out = plan_vs_actual(frame, layout)
    assert [(e["kind"], e["ordinal"]) for e in out] == [
        ("failed", 0), ("residue", 0), ("not_run", 1), ("not_run", 2)]  # fmt: skip
    assert out[1]["detail"].startswith(f"residue: copy of a:0 left on {NODES[3]}")
    assert "cancelled" in out[2]["detail"] and "missing from status" in out[3]["detail"]


def test_plan_without_any_status_is_unverified() -> None:
    out = plan_vs_actual(steps([step(0, None, "plan")]), partitions([]))
    assert [e["kind"] for e in out] == ["unverified"]


def test_failed_drop_residue() -> None:
    layout = partitions([*paired("a", 1), copy("a", 0, NODES[3], "Orphan")])
    out = plan_vs_actual(steps([step(0, "failed", "status", "drop")]), layout)
    assert [e["kind"] for e in out] == ["failed", "residue"]
    assert "still on" in out[1]["detail"]


# --------------------------------------------------------------------------- grammar


def test_every_phase_statement_has_a_predicate_and_formats() -> None:
    rows = [*paired("a", 3), copy("a", 1, NODES[4], "Orphan"), copy("a", 2, NODES[4], "Replica")]
    db = compute_impact(partitions(rows), variables(("m", "2")), disk()).databases[0]
    fields = statement_fields(db)
    for phase, entries in grammars.load("recovery")["impact"]["phase"].items():
        assert phase in ("copy", "promote", "drop")
        for entry in entries:
            assert entry["when"] in STATEMENT_PREDICATES
            assert entry["text"].format(**fields)


def test_no_phase_no_statements() -> None:
    db = only_db(
        compute_impact(partitions(paired("a", 1)), variables(), disk(), failing_phases={"a": None})
    )
    assert db["phase_statements"] == []


# --------------------------------------------------------------------------- properties

ROLES_WITH_MASTER = st.booleans()


@st.composite
def layouts(draw: st.DrawFn) -> dict[str, Any]:
    """{db: {ordinal: {"master": node|None, "replicas": [...], "orphans": [...]}}} + options."""
    layout: dict[str, dict[int, dict[str, Any]]] = {}
    for db in draw(
        st.lists(st.sampled_from(["a", "b", "c_1"]), min_size=1, max_size=3, unique=True)
    ):
        # partitions are numbered 0..n-1 (a gap counts as a partition without a master)
        ordinals = list(range(draw(st.integers(1, 8))))
        layout[db] = {}
        for o in ordinals:
            nodes = draw(st.permutations(NODES))
            n_rep = draw(st.integers(0, 3))
            n_orph = draw(st.integers(0, 2))
            has_master = draw(ROLES_WITH_MASTER)
            if not has_master and n_rep == 0 and n_orph == 0:
                n_orph = 1  # an ordinal must appear somewhere to exist
            layout[db][o] = {
                "master": nodes[0] if has_master else None,
                "replicas": list(nodes[1 : 1 + n_rep]),
                "orphans": list(nodes[4 : 4 + n_orph]),
            }
    return {
        "layout": layout,
        "redundancy": draw(st.one_of(st.none(), st.integers(1, 3))),
        "sizes": draw(st.sampled_from(["partition", "database", "node", "none"])),
        "size": draw(st.integers(1, 10**12)),
        "seed": draw(st.integers(0, 2**32)),
    }


def layout_rows(layout: dict[str, dict[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    rows = []
    for db, parts in layout.items():
        for o, p in parts.items():
            if p["master"]:
                rows.append(copy(db, o, p["master"], "Master"))
            rows += [copy(db, o, n, "Replica") for n in p["replicas"]]
            rows += [copy(db, o, n, "Orphan") for n in p["orphans"]]
            if p["master"] or p["replicas"]:  # a stale earlier snapshot must not count
                rows.append(dict(copy(db, o, NODES[5], "Master"), snapshot="before/p.txt#0"))
    return rows


def copy_nodes(p: dict[str, Any]) -> list[str]:
    """The nodes holding a copy of one partition of a layout: master, replicas, orphans."""
    return [*([p["master"]] if p["master"] else []), *p["replicas"], *p["orphans"]]


def run(case: dict[str, Any], rows: list[dict[str, Any]]) -> Any:
    r = case["redundancy"]
    size_rows: list[tuple[str, int | None, str, int]] = []
    for db, parts in case["layout"].items():
        if case["sizes"] == "partition":
            size_rows += [(db, o, NODES[0], case["size"]) for o in parts]
        elif case["sizes"] == "database":  # cluster-wide: on a node holding no copy
            size_rows.append((db, None, "ma:3306", case["size"]))
        elif case["sizes"] == "node":  # each node's share: its copies at ``size`` each
            held = Counter(n for p in parts.values() for n in copy_nodes(p))
            size_rows += [(db, None, n, case["size"] * k) for n, k in sorted(held.items())]
    return compute_impact(
        partitions(rows), variables(("ma", str(r))) if r else variables(), disk(*size_rows)
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_impact_properties(case: dict[str, Any]) -> None:
    rows = layout_rows(case["layout"])
    impact = run(case, rows)
    out = impact.to_json()
    assert out is not None
    assert [d["database"] for d in out["databases"]] == sorted(case["layout"])
    for db in out["databases"]:
        parts = case["layout"][db["database"]]
        copies = {o: (p["master"] is not None) + len(p["replicas"]) for o, p in parts.items()}
        with_master = {o for o, p in parts.items() if p["master"]}
        r = db["redundancy"]
        if case["redundancy"]:
            assert r == case["redundancy"] and not db["redundancy_assumed"]
        exact = [o for o in with_master if copies[o] == r]
        assert len(db["over_redundant"]) + len(db["under_redundant"]) + len(exact) == len(
            with_master
        )
        assert set(db["partitions_without_master"]) | with_master == set(parts)
        assert not set(db["partitions_without_master"]) & with_master
        assert db["partitions"] == len(parts)
        assert db["over_redundant"] == sorted(o for o in with_master if copies[o] > r)
        assert db["under_redundant"] == sorted(o for o in with_master if copies[o] < r)
        orphans = sorted((o, n) for o, p in parts.items() for n in p["orphans"])
        assert [(x["ordinal"], x["node"]) for x in db["orphans"]] == orphans
        spare = [o for o, _ in orphans if o in with_master]  # (others may be the only copy)
        expected_extra = sum(copies[o] - r for o in db["over_redundant"]) + len(spare)
        assert db["extra_copies"] == expected_extra
        per_copy = {
            "partition": case["size"],
            "database": case["size"] // len(parts),
            "node": case["size"],
        }
        if case["sizes"] == "none" and expected_extra:
            assert db["extra_bytes_estimate"] is None
        else:
            assert db["extra_bytes_estimate"] == expected_extra * per_copy.get(case["sizes"], 0)
        for key in ("partitions_without_master", "under_redundant", "over_redundant"):
            assert db[key] == sorted(db[key])
    assert out["data_at_risk"] == any(d["partitions_without_master"] for d in out["databases"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_impact_is_deterministic_under_shuffling(case: dict[str, Any]) -> None:
    rows = layout_rows(case["layout"])
    shuffled = rows[:]
    random.Random(case["seed"]).shuffle(shuffled)
    first = json.dumps(run(case, rows).to_json(), sort_keys=False)
    assert json.dumps(run(case, shuffled).to_json(), sort_keys=False) == first


@pytest.mark.parametrize("phase", ["copy", "promote", "drop"])
def test_statements_for_each_phase(phase: str) -> None:
    rows = [*paired("a", 2), copy("a", 0, NODES[3], "Replica")]
    db = only_db(compute_impact(partitions(rows), variables(("m", "2")), disk(),
                                failing_phases={"a": phase}))  # fmt: skip
    assert db["phase"] == phase and db["phase_statements"]
    assert any("(ordinals 0)" in s for s in db["phase_statements"])


def test_inferred_redundancy_is_never_above_two() -> None:
    from forensics.impact import infer_redundancy

    # one partition with an extra copy left by a failed step, one with the usual two
    assert infer_redundancy({4: 3, 2: 2}) == 2
    assert infer_redundancy({0: 3, 1: 3, 2: 3}) == 2
    assert infer_redundancy({0: 1, 1: 1, 2: 2}) == 1


def test_numbered_snapshot_names_sort_by_number() -> None:
    names = ["x/partitions_10.txt#0", "x/partitions_9.txt#0", "x/partitions_2.txt#0"]
    assert sorted(names, key=snapshot_order_key) == [
        "x/partitions_2.txt#0",
        "x/partitions_9.txt#0",
        "x/partitions_10.txt#0",
    ]


def _in(snapshot: str, kind: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "snapshot": snapshot, "snapshot_kind": kind} for r in rows]


@pytest.mark.parametrize(
    ("partitions_file", "cluster_file"),
    [
        ("b/show_partitions_before.txt#0", "b/show_cluster_status_after.txt#0"),
        ("b/01_show_partitions.txt#0", "b/02_show_cluster_status.txt#0"),
        ("b/partitions_initial.txt#0", "b/cluster_status_final.txt#0"),
    ],
)
def test_a_later_cluster_status_outranks_an_earlier_show_partitions(
    partitions_file: str, cluster_file: str
) -> None:
    """SHOW PARTITIONS was captured before the failure, SHOW CLUSTER STATUS after: the
    master of ordinal 1 is gone and only an orphan holds it now."""
    before = _in(partitions_file, "partitions", paired("l", 2))
    after = _in(
        cluster_file,
        "cluster_status",
        [copy("l", 0, NODES[0], "Master"), copy("l", 0, NODES[1], "Replica"),
         copy("l", 1, NODES[2], "Orphan")],
    )  # fmt: skip
    db = only_db(compute_impact(partitions(before + after), variables(("m", "2")), disk()))
    assert db["partitions_without_master"] == [1]


def test_names_order_snapshots_by_whole_words() -> None:
    """A database called posts is no 'post'; initial/final and old/new order too."""
    assert sorted(["x/posts_after.txt#0", "x/posts_before.txt#0"], key=snapshot_order_key) == [
        "x/posts_before.txt#0",
        "x/posts_after.txt#0",
    ]
    assert (
        sorted(
            ["x/cs_final.txt#0", "x/cs_initial.txt#0", "x/cs_old.txt#0"], key=snapshot_order_key
        )[-1]
        == "x/cs_final.txt#0"
    )


@pytest.mark.parametrize("state", ["recovering", "pending", "transition", "provisioning"])
def test_a_master_that_is_not_serving_is_no_master(state: str) -> None:
    rows = [*paired("a", 2), copy("a", 2, NODES[0], "Master", state=state),
            copy("a", 2, NODES[1], "Replica"), copy("a", 2, NODES[3], "Orphan")]  # fmt: skip
    db = only_db(compute_impact(partitions(rows), variables(("m", "2")), disk()))
    assert db["partitions_without_master"] == [2] and db["extra_copies"] == 0


def test_leaves_named_otherwise_than_the_snapshots_are_said_to_be_unmatched() -> None:
    leaves = schemas.conform(
        pl.DataFrame([{"node": "leaf-2.prod.internal:3306", "state": "offline"}]),
        schemas.LEAVES,
    )
    impact = compute_impact(
        partitions(paired("a", 2)), variables(("m", "2")), disk(), leaves=leaves
    )
    assert any("could not be matched" in w for w in impact.warnings)


def test_the_latest_show_leaves_capture_gives_a_leafs_state() -> None:
    """The leaf was offline in the capture after the failure and online again in the
    one before the retry: its masters count."""
    leaves = schemas.conform(
        pl.DataFrame(
            [
                {"node": NODES[0], "state": "offline", "source": "b/leaves_after_failure.txt#0"},
                {"node": NODES[0], "state": "online", "source": "b/leaves_final.txt#0"},
            ]
        ),
        schemas.LEAVES,
    )
    impact = compute_impact(
        partitions(paired("a", 2)), variables(("m", "2")), disk(), leaves=leaves
    )
    assert only_db(impact)["partitions_without_master"] == []


def test_an_ordinal_far_beyond_the_others_is_a_damaged_row_not_100000_partitions() -> None:
    rows = [*paired("a", 4), copy("a", 100000, NODES[0], "Master")]
    impact = compute_impact(partitions(rows), variables(("m", "2")), disk())
    db = only_db(impact)
    assert db["partitions"] == 4 and db["partitions_without_master"] == []
    assert any("100000" in w and "damaged" in w for w in impact.warnings)


# --------------------------------------------------------------------------- probe 11


def test_an_orphan_that_may_be_the_only_copy_is_not_called_harmless() -> None:
    """Partition 5 has no master and its only copy is an orphan: the statement must not
    call it a leftover holding "no data the masters lack"; a true leftover still is one."""
    rows = [*paired("p", 5), copy("p", 5, NODES[2], "Orphan"), copy("p", 1, NODES[3], "Orphan")]
    db = only_db(compute_impact(partitions(rows), variables(("m", "2")), disk(),
                                failing_phases={"p": "copy"}))  # fmt: skip
    statements = db["phase_statements"]
    leftover = [s for s in statements if "no data the masters lack" in s]
    assert leftover and f"p:1 on {NODES[3]}" in leftover[0] and "p:5" not in leftover[0]
    kept = [s for s in statements if "only or the latest copy" in s]
    assert kept and f"p:5 on {NODES[2]}" in kept[0]
    assert not any("authoritative" in s for s in statements)


def test_a_copy_the_two_snapshots_disagree_on_is_counted_once() -> None:
    """SHOW PARTITIONS lists c:0 on node 3 as a replica, SHOW CLUSTER STATUS as an orphan:
    one copy, not an extra replica and an orphan; the capture read as later wins."""
    rows = [copy("c", 0, NODES[0], "Master"), copy("c", 0, NODES[1], "Replica"),
            copy("c", 0, NODES[2], "Replica"), copy("c", 0, NODES[2], "Orphan")]  # fmt: skip
    impact = compute_impact(partitions(rows), variables(("m", "2")), disk(("c", 0, NODES[0], 10)))
    db = only_db(impact)
    assert db["over_redundant"] == []
    assert db["orphans"] == [{"ordinal": 0, "node": NODES[2], "ahead_of_master": False}]
    assert db["extra_copies"] == 1 and db["extra_bytes_estimate"] == 10
    assert any("counted once" in w and f"c:0 on {NODES[2]}" in w for w in impact.warnings)
    # SHOW PARTITIONS named as the later capture: the copy is the replica it lists
    later = [dict(r, snapshot="final/partitions.txt#0") if r["role"] != "Orphan" else r
             for r in rows]  # fmt: skip
    db = only_db(compute_impact(partitions(later), variables(("m", "2")), disk()))
    assert db["over_redundant"] == [0] and db["orphans"] == [] and db["extra_copies"] == 1


def test_show_leaves_with_one_availability_group_gives_redundancy_1() -> None:
    """No redundancy_level; every leaf in availability group 1, no pair host: redundancy 1,
    stated as an assumption; a partition with a second copy (a finished COPY) is over."""
    rows = [copy("k", o, NODES[o % 3], "Master") for o in range(6)]
    rows += [copy("k", o, NODES[3], "Replica") for o in range(4)]
    leaves = schemas.conform(
        pl.DataFrame({"node": NODES[:4], "availability_group": [1, 1, 1, 1],
                      "pair": [None] * 4, "state": ["online"] * 4}),
        schemas.LEAVES,
    )  # fmt: skip
    impact = compute_impact(partitions(rows), variables(), disk(), leaves=leaves)
    db = only_db(impact)
    assert db["redundancy"] == 1 and db["redundancy_assumed"] is True
    assert db["under_redundant"] == [] and db["over_redundant"] == [0, 1, 2, 3]
    assert any("SHOW LEAVES" in a and "assumed 1" in a for a in impact.assumptions)
    # a leaf whose group is unknown is no evidence: the copies decide (most have two)
    unknown = leaves.with_columns(pl.Series("availability_group", [1, 1, 1, None]))
    db = only_db(compute_impact(partitions(rows), variables(), disk(), leaves=unknown))
    assert db["redundancy"] == 2


@pytest.mark.parametrize("phase", ["copy", "drop"])
def test_under_redundancy_has_its_statement_in_copy_and_drop(phase: str) -> None:
    rows = [*paired("o", 4)]
    rows = [r for r in rows if not (r["ordinal"] == 3 and r["role"] == "Replica")]
    db = only_db(compute_impact(partitions(rows), variables(("m", "2")), disk(),
                                failing_phases={"o": phase}))  # fmt: skip
    statements = " ".join(db["phase_statements"])
    assert "fewer copies than redundancy 2 (ordinals 3)" in statements
    assert "not impacted" not in statements


# --------------------------------------------------------------------------- sizes per copy


def folder_disk(*rows: tuple[str, int | None, int, int, str | None]) -> pl.DataFrame:
    """disk_usage rows as sdb-report gives them: one databaseDiskUsage.json per node folder
    (``report/<host>-LEAF/``), naming no host (or only its memsqlId)."""
    data = [
        {"database": d, "ordinal": o, "node": named, "size_bytes": size,
         "source": f"report/10.0.0.{leaf}-LEAF/databaseDiskUsage.json:1"}
        for d, o, leaf, size, named in rows
    ]  # fmt: skip
    return schemas.conform(pl.DataFrame(data), schemas.DISK_USAGE)


GIB = 1024**3


def test_half_made_orphan_is_charged_at_its_own_size() -> None:
    """b04_copy_storage_folder: the target leaf's databaseDiskUsage.json says the orphan
    sales_5 holds 1 GiB, the complete copies 4.4 GiB: cleanup frees 1 GiB there, not 4.4."""
    rows = [*paired("sales", 6), copy("sales", 5, NODES[3], "Orphan")]
    full = 4_724_464_025
    sizes = folder_disk(
        *[("sales", o, 1, 2 * GIB + o, None) for o in range(6)],
        *[("sales", o, 2, 2 * GIB + o, None) for o in range(5)],
        ("sales", 5, 1, full, None), ("sales", 5, 2, full, None), ("sales", 5, 4, GIB, None),
    )  # fmt: skip
    db = only_db(compute_impact(partitions(rows), variables(("m", "2")), sizes))
    assert db["extra_copies"] == 1
    assert db["extra_bytes_estimate"] == GIB
    assert db["per_node_extra_bytes"] == {NODES[3]: GIB}


def test_extra_copies_named_by_host_and_port_are_charged_at_their_own_size() -> None:
    """b01_copy_r2_persize: partition_sizes names each copy's host and port; the COPY that
    failed left a 400 MB orphan of a 1.67 GB partition; copies 2 and 5 completed."""
    rows = [*paired("sales", 8), copy("sales", 6, NODES[3], "Orphan")]
    rows += [copy("sales", o, NODES[3], "Replica") for o in (2, 5)]
    per_part = [(o, 1_000_000_000 + o * 111_111_111) for o in range(8)]
    sizes = disk(
        *[("sales", o, n, size) for o, size in per_part for n in NODES[:2]],
        *[("sales", o, NODES[3], per_part[o][1]) for o in (2, 5)],
        ("sales", 6, NODES[3], 400_000_000),
    )
    db = only_db(compute_impact(partitions(rows), variables(("m", "2")), sizes))
    assert db["extra_copies"] == 3
    assert db["extra_bytes_estimate"] == 1_222_222_222 + 1_555_555_555 + 400_000_000


def test_database_sizes_of_node_folders_add_up() -> None:
    """r5 / b09_drop_eio: each leaf's databaseDiskUsage.json gives its own share of the
    database (the node from its folder, or only a memsqlId key). 6 partitions at
    redundancy 2 on 3 leaves (4 copies each) and an orphan on a fourth: 13 copies of
    1 GiB. One leaf's 4 GiB over the 6 partitions said 0.67 GiB."""
    rows = [
        c
        for o in range(6)
        for c in (copy("a", o, NODES[o % 3], "Master"), copy("a", o, NODES[(o + 1) % 3], "Replica"))
    ] + [copy("a", 0, NODES[3], "Orphan")]  # fmt: skip
    memsql_id = "853E025CC95EE621FA849748B3F322EB11E81F55"
    sizes = folder_disk(
        ("a", None, 1, 4 * GIB, None), ("a", None, 2, 4 * GIB, memsql_id),
        ("a", None, 3, 4 * GIB, None), ("a", None, 4, GIB, None),
    )  # fmt: skip
    impact = compute_impact(partitions(rows), variables(("m", "2")), sizes)
    db = only_db(impact)
    assert db["extra_copies"] == 1
    assert db["extra_bytes_estimate"] == GIB
    assert any(f"{13 * GIB} bytes / 13" in a for a in impact.assumptions)


def test_sdb_report_folders_give_copy_and_database_sizes(tmp_path: Any) -> None:
    """The same through the loader: sdb-report JSON tables, the MA's cluster tables and
    one databaseDiskUsage.json per leaf folder, in MB: 4 copies on each of three leaves and
    an orphan on a fourth make 13 copies of 1 GiB."""

    def table(folder: str, name: str, columns: list[str], rows: list[list[Any]]) -> None:
        path = tmp_path / "report" / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {"columns": columns, "rows": [dict(zip(columns, r, strict=True)) for r in rows]}
            )
        )

    hosts = ["10.0.1.11", "10.0.1.12", "10.0.1.13", "10.0.1.14"]
    layout = [(o, hosts[o % 3], "Master") for o in range(6)]
    layout += [(o, hosts[(o + 1) % 3], "Replica") for o in range(6)]
    table("10.0.1.10-MA", "showPartitions.json", ["Database", "Ordinal", "Host", "Port", "Role"],
          [["sales", o, h, 3306, r] for o, h, r in layout])  # fmt: skip
    table("10.0.1.10-MA", "showClusterStatus.json", ["Host", "Port", "Database", "Role", "State"],
          [[hosts[3], 3306, "sales_1", "Orphan", "online"]])  # fmt: skip
    table("10.0.1.10-MA", "showVariables.json", ["Variable_name", "Value"],
          [["redundancy_level", "2"]])  # fmt: skip
    usage = ["DATABASE_NAME", "DISK_USAGE_MB"]
    for host, mb in zip(hosts, (4096, 4096, 4096, 1024), strict=True):
        table(f"{host}-LEAF", "databaseDiskUsage.json", usage, [["sales", mb]])
    bundle = load_bundle(str(tmp_path / "report"))
    impact = compute_impact(bundle.partitions, bundle.variables, bundle.disk_usage)
    assert only_db(impact)["extra_bytes_estimate"] == GIB


def test_partitions_without_a_working_copy_say_nothing_of_the_redundancy() -> None:
    """Two partitions whose copies are all down and two with two copies: redundancy 2, not
    the 'no copy at all' floor of 1 (which would hide the under-redundancy)."""
    from forensics.impact import infer_redundancy

    assert infer_redundancy({0: 2, 1: 0, 2: 0, 3: 2}) == 2
    assert infer_redundancy({0: 0, 1: 0}) == 0  # (nothing to go by: the caller's floor)
