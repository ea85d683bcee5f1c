"""Every sample in grammars/messages.toml gives exactly the fields it lists."""

from __future__ import annotations

import re

import polars as pl
import pytest

from forensics import grammars
from forensics.parsers.tracelog import _masked, _masked_messages, parse_lines

MESSAGES = grammars.load("messages")
GROUPS = [
    name
    for name, body in MESSAGES.items()
    if isinstance(body, dict)
    and "samples" in body
    and name not in ("mask", "connections", "redact")
]
CASES = [
    pytest.param(group, i, sample, id=f"{group}-{i}")
    for group in GROUPS
    for i, sample in enumerate(MESSAGES[group]["samples"])
]


def test_every_group_has_fields_patterns_and_samples():
    assert set(GROUPS) == {"database", "action", "step_event", "target", "error_code"}
    for group in GROUPS:
        body = MESSAGES[group]
        assert body["fields"], group
        assert len(body["samples"]) >= 3, group
        has_null = any(not set(body["fields"]) & set(s) for s in body["samples"])
        assert has_null, f"{group}: add a sample that must NOT match"


def test_every_pattern_compiles_and_has_named_groups():
    for group in ("database", "target", "error_code", "action"):
        for pattern in MESSAGES[group]["patterns"]:
            compiled = re.compile(pattern["regex"])  # Rust syntax used is Python-compatible
            wanted = {"database": {"database"}, "target": {"host", "port"}, "error_code": {"code"}}
            assert wanted.get(group, set()) <= set(compiled.groupindex), pattern["name"]


def test_phase_kinds_cover_every_action():
    actions = {p["action"] for p in MESSAGES["action"]["patterns"]}
    assert actions == set(MESSAGES["phase_kinds"])
    assert set(MESSAGES["phase_kinds"].values()) == {"copy", "promote", "drop"}


@pytest.mark.parametrize(("group", "index", "sample"), CASES)
def test_sample(group, index, sample):
    line = f"12345678 2024-03-04 10:00:00.000   WARN: {sample['message']}"
    events = parse_lines([line])
    assert events.height == 1
    row = events.row(0, named=True)
    assert row["message"] == sample["message"]
    for name in MESSAGES[group]["fields"]:
        assert row[name] == sample.get(name), f"{group}[{index}] {name}: {sample['message']!r}"


@pytest.mark.parametrize("sample", MESSAGES["mask"]["samples"])
def test_mask_sample(sample):
    """Each sample is masked as written, also when only the rows holding the literal the
    patterns require are tested (``requires``)."""
    frame = pl.DataFrame({"message": [sample["message"]]})
    masked = frame.select(_masked(pl.col("message"), MESSAGES["mask"]["patterns"])).item()
    assert masked == sample["masked"]
    gated = _masked_messages(frame.get_column("message"), MESSAGES["mask"])
    assert gated.to_list() == [sample["masked"]]
    assert frame.item(0, "message") == sample["message"]  # (the frame is left as it was)


FIELDS = ["database", "ordinal", "action", "target", "error_code", "phase_kind", "step_event"]


def test_fields_do_not_depend_on_a_leading_thread_designator():
    """extract_fields runs the patterns once per text without its designator: that is
    only right if no pattern reads the designator, which every sample checks here."""
    messages = [s["message"] for group in GROUPS for s in MESSAGES[group]["samples"]]
    designators = ["", "Thread 115163: ", "Thread 7 (ntid 49, conn id -1): ", "Thread 9:\t"]
    lines = [
        f"12345678 2024-03-04 10:00:00.{i:03d}   WARN: {d}{m}"
        for i, (m, d) in enumerate((m, d) for m in messages for d in designators)
    ]
    fields = parse_lines(lines).select(FIELDS).rows()
    n = len(designators)
    per_message = [fields[i : i + n] for i in range(0, len(fields), n)]
    for message, rows in zip(messages, per_message, strict=True):
        assert len(set(rows)) == 1, message


@pytest.mark.parametrize("sample", MESSAGES["connections"]["samples"])
def test_connection_sample(sample):
    from forensics.diagnose import _connection_patterns, connections

    killed, own = _connection_patterns()
    assert sorted(connections(killed, sample["message"])) == sample["killed"]
    assert sorted(connections(own, sample["message"])) == sample["own"]


# A query line names the query's database (`Query <db>.'<sql>'`, "query on `db`.`table`",
# "BACKUP DATABASE db"); its SQL text gives no field. What the user sees: the finding
# names that database, and one of another database is ruled out for it.


def test_a_user_query_keeps_its_database_and_its_sql_gives_no_partition():
    line = (
        "12345678 2026-03-10 02:04:10.210   WARN: Thread 115090 (ntid 310, conn id 52877): "
        "Query sales.'UPDATE `orders` SET s = ? WHERE src = 'crm_3' AND p = `sales_7`' "
        "failed with error 1205: Lock wait timeout exceeded; try restarting transaction"
    )
    row = parse_lines([line]).row(0, named=True)
    assert (row["database"], row["ordinal"], row["error_code"]) == ("sales", None, 1205)
    assert (row["action"], row["step_event"]) == (None, None)


def test_a_system_query_names_no_database():
    line = (
        "03880903 2022-09-30 16:01:44.154   INFO: Query information_schema.'SELECT @@memsql_version'"
        " submitted 130 milliseconds ago, queued for 22 milliseconds"
    )
    assert parse_lines([line]).row(0, named=True)["database"] is None


def test_findings_on_queries_of_other_databases_are_ruled_out_for_it(tmp_path):
    from test_rules_builtin import MA_NODE, TARGET_NODE, _analyze, _sales_verdict

    report = _analyze(
        tmp_path,
        "copy",
        [
            (MA_NODE, "02:06:00.000", "ERROR", "Thread 115061 (ntid 281, conn id -1): LeafConnection: query on `crm`.`accounts` to 10.0.1.12:3306 failed: Connection reset by peer"),
            (TARGET_NODE, "02:06:05.000", "ERROR", "Thread 115300 (ntid 520, conn id 7122): Query analytics.'SELECT * FROM `events_5`' failed: ERROR 1712 (HY000): Not enough memory available"),
            (MA_NODE, "02:03:00.000", "INFO", "Thread 115263 (ntid 483, conn id 70002): ProcessCommand: BACKUP DATABASE crm TO S3 'backups/crm/2026-03-10' started"),
        ],
    )  # fmt: skip
    assert _sales_verdict(report).cause == "unknown"
    named = {f.rule: (f.database, f.role) for f in report.findings}
    assert named["NET02"][0] == "crm" and named["NET02"][1] != "cause"
    assert named["MEM01"][0] == "analytics" and named["MEM01"][1] != "cause"
    assert named["BAK01"] == ("crm", "unrelated")


def test_a_backup_of_the_database_names_it(tmp_path):
    from test_rules_builtin import MA_NODE, _analyze

    line = "Thread 115262 (ntid 482, conn id -1): Backup: BACKUP DATABASE sales in progress, 5 of 8 partitions done"
    report = _analyze(tmp_path, "copy", [(MA_NODE, "02:04:00.000", "INFO", line)])
    (backup,) = [f for f in report.findings if f.factor == "backup_overlap"]
    assert (backup.database, backup.role, backup.confidence) == ("sales", "contributing", 0.99)
