"""Every sample in grammars/messages.toml gives exactly the fields it lists."""

from __future__ import annotations

import re

import polars as pl
import pytest

from forensics import grammars
from forensics.parsers.tracelog import _masked, parse_lines

MESSAGES = grammars.load("messages")
GROUPS = [
    name
    for name, body in MESSAGES.items()
    if isinstance(body, dict) and "samples" in body and name not in ("mask", "connections")
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
    frame = pl.DataFrame({"message": [sample["message"]]})
    masked = frame.select(_masked(pl.col("message"), MESSAGES["mask"]["patterns"])).item()
    assert masked == sample["masked"]


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
