"""Rule loading (errors with path:line, overrides) and the matching engine."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics.errors import RuleError
from forensics.rules import MATCHES, RuleSet, load_rules, match
from forensics.rules.loader import load_dir, load_file
from forensics.rules.testing import example_warnings
from forensics.schemas import EVENTS, conform

T0 = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)

RULE = """\
[[rule]]
id = "TST01"
title = "test rule"
cause = "kill"
phases = ["copy"]
severity = "high"
when = 'message contains "boom"'
explanation = "x"
remediation = "y"
references = ["https://docs.singlestore.com/x"]

[rule.examples]
match = ["12345678 2026-03-02 10:15:04.266  ERROR: boom"]
no_match = ["12345678 2026-03-02 10:15:04.266  ERROR: calm"]
"""

CORRELATED = """\
id = "TST02"
title = "lock then promote failure"
cause = "lock_timeout"
phases = ["promote"]
severity = "medium"
when = 'message contains "lock wait"'
followed_by = 'message contains "promote failed"'
within = "5m"
same = ["database"]
explanation = "x"
remediation = "y"

[examples]
match = [["12345678 2026-03-02 10:15:04.266   WARN: lock wait on sales:1", "22345678 2026-03-02 10:15:14.266  ERROR: promote failed sales:1"]]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def events(*rows: dict) -> pl.DataFrame:
    full = [
        {"node": "n1:3306", "file": "memsql.log", "line": i + 1, "level": "INFO"} | r
        for i, r in enumerate(rows)
    ]
    return conform(pl.DataFrame(full), EVENTS)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# --------------------------------------------------------------------------- loader


def test_loads_array_and_single_table_files(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", RULE)
    write(tmp_path, "b.toml", CORRELATED)
    rules = {r.id: r for r in load_dir(tmp_path)}
    assert set(rules) == {"TST01", "TST02"}
    assert rules["TST01"].line == 2 and rules["TST02"].line == 1
    assert rules["TST02"].within == timedelta(minutes=5) and rules["TST02"].same == ("database",)
    assert rules["TST02"].examples[0].lines[1].endswith("promote failed sales:1")


@pytest.mark.parametrize(
    ("old", "new", "line", "fragment"),
    [
        ('severity = "high"', 'severity = "urgent"', 6, "severity must be one of"),
        ('cause = "kill"', 'cause = "gremlins"', 4, "cause must be one of"),
        ('phases = ["copy"]', 'phases = ["copy", "merge"]', 5, "phases must be"),
        ('id = "TST01"', 'id = "tst-1"', 2, "id must be"),
        ("when = 'message contains \"boom\"'", "when = 'message containz \"boom\"'", 7, "column 9"),
        (
            "when = 'message contains \"boom\"'",
            "when = 'mesage contains \"boom\"'",
            7,
            "unknown field",
        ),
        ('title = "test rule"', 'titel = "test rule"', 3, "unknown key 'titel'"),
        ('references = ["https://docs.singlestore.com/x"]', 'references = ["docs"]', 10, "URLs"),
        (
            'cause = "kill"',
            'cause = "kill"\nfactor = "merger_load"',
            2,
            "exactly one of cause or factor",
        ),
        ('remediation = "y"', "", 2, "missing key(s) remediation"),
        (
            'severity = "high"',
            'severity = "high"\nwithin = "5m"',
            7,
            "only meaningful with followed_by",
        ),
        ("no_match = [", "nomatch = [", 14, "unknown examples key"),
        ('title = "test rule"', 'title = "test rule', 3, "invalid TOML"),
        # a string never closed: tomllib says only "at end of document"; the line is the
        # one where the string opens
        (
            "when = 'message contains \"boom\"'",
            'when = \'message contains "boom"',
            7,
            "the string opened on this line is never closed",
        ),
        ('explanation = "x"', 'explanation = """x', 8, "never closed"),
        ('remediation = "y"', "remediation = '''y", 9, "never closed"),
        # an array never closed: no line to point at but the last one
        ('calm"]', 'calm"', 14, "invalid TOML: Unclosed array at end of document"),
    ],
)
def test_loader_errors_name_file_and_line(
    tmp_path: Path, old: str, new: str, line: int, fragment: str
) -> None:
    assert old in RULE
    path = write(tmp_path, "bad.toml", RULE.replace(old, new))
    with pytest.raises(RuleError) as info:
        load_file(path)
    assert info.value.path == str(path)
    assert info.value.line == line, str(info.value)
    assert fragment in info.value.message


def test_followed_by_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "c.toml", CORRELATED.replace('within = "5m"\n', ""))
    with pytest.raises(RuleError, match="needs within") as info:
        load_file(path)
    assert info.value.line == 7
    path = write(tmp_path, "c.toml", CORRELATED.replace('within = "5m"', 'within = "5 fortnights"'))
    with pytest.raises(RuleError, match="positive duration") as info:
        load_file(path)
    assert info.value.line == 8
    path = write(tmp_path, "c.toml", CORRELATED.replace('same = ["database"]', 'same = ["host"]'))
    with pytest.raises(RuleError, match="same must be") as info:
        load_file(path)
    assert info.value.line == 9


def test_bad_line_found_in_the_right_rule_of_a_multi_rule_file(tmp_path: Path) -> None:
    second = RULE.replace("TST01", "TST03").replace('severity = "high"', 'severity = "huge"')
    path = write(tmp_path, "multi.toml", RULE + "\n" + second)
    with pytest.raises(RuleError) as info:
        load_file(path)
    assert info.value.line == RULE.count("\n") + 1 + 6


def test_duplicate_id_in_one_source_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", RULE)
    write(tmp_path, "b.toml", RULE)
    with pytest.raises(RuleError, match="duplicate rule id TST01") as info:
        load_dir(tmp_path)
    assert info.value.path == str(tmp_path / "b.toml")


def test_user_rule_overrides_builtin(tmp_path: Path) -> None:
    builtin = load_rules()
    write(tmp_path, "mem.toml", RULE.replace("TST01", "MEM01"))
    rules = load_rules([tmp_path])
    assert len(rules) == len(builtin)
    assert rules["MEM01"].cause == "kill" and rules["MEM01"].source == str(tmp_path)
    assert [r.id for r in rules.overridden] == ["MEM01"]


def test_missing_rule_dir(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="not found"):
        load_rules([tmp_path / "nope"])


def test_a_rule_folder_without_rule_files_is_an_error(tmp_path: Path) -> None:
    """`--rules DIR` naming a folder with no rules would silently run the built-ins only."""
    with pytest.raises(RuleError, match=r"no rule files \(\*\.toml\) in this folder$"):
        load_rules([tmp_path])
    write(tmp_path, "drop.toml.txt", RULE)
    with pytest.raises(RuleError, match=r"found drop\.toml\.txt") as info:
        load_rules([tmp_path])
    assert info.value.path == str(tmp_path)


def test_rule_files_are_read_whatever_the_case_of_their_suffix(tmp_path: Path) -> None:
    write(tmp_path, "drop.TOML", RULE)
    write(tmp_path, "sub.Toml", CORRELATED)
    rules = load_rules([tmp_path])
    assert rules["TST01"].source == str(tmp_path) and "TST02" in rules


def test_failing_examples_of_a_user_rule_give_one_warning_at_file_and_line(
    tmp_path: Path,
) -> None:
    broken = RULE.replace('"boom"\'', '"xyz"\'').replace("ERROR: calm", "ERROR: xyz")
    path = write(tmp_path, "r.toml", broken)
    assert example_warnings(load_rules([tmp_path])) == [
        f"{path}:13: rule TST01 fails 2 of its 2 examples (expected match, got no match) "
        f"and is used as written; see 'forensics rules test {tmp_path}'"
    ]
    write(tmp_path, "r.toml", RULE)  # examples that behave (and the built-ins): no warning
    assert example_warnings(load_rules([tmp_path])) == []


# --------------------------------------------------------------------------- engine


@pytest.fixture
def rules(tmp_path: Path) -> RuleSet:
    write(tmp_path, "a.toml", RULE)
    write(tmp_path, "b.toml", CORRELATED)
    return RuleSet.of(load_dir(tmp_path))


def test_simple_match_rows_and_schema(rules: RuleSet) -> None:
    ev = events(
        {"ts": at(0), "message": "all calm"},
        {
            "ts": at(1),
            "message": "BOOM here",
            "level": "ERROR",
            "database": "sales",
            "error_code": 7,
        },
    )
    out = match(ev, rules)
    assert out.schema == MATCHES
    assert out.height == 1
    row = out.row(0, named=True)
    assert (row["rule"], row["cause"], row["line"], row["database"], row["error_code"]) == (
        "TST01",
        "kill",
        2,
        "sales",
        7,
    )
    assert row["first_line"] is None


@pytest.mark.parametrize(
    ("gap", "db2", "expected"),
    [(10, "sales", 1), (299, "sales", 1), (301, "sales", 0), (10, "crm", 0), (10, None, 0)],
)
def test_followed_by_window_and_same_key(
    rules: RuleSet, gap: float, db2: str | None, expected: int
) -> None:
    ev = events(
        {"ts": at(0), "message": "lock wait on table", "database": "sales"},
        {"ts": at(gap), "message": "promote failed", "database": db2, "level": "ERROR"},
    )
    out = match(ev, rules).filter(pl.col("rule") == "TST02")
    assert out.height == expected
    if expected:
        row = out.row(0, named=True)
        assert (row["line"], row["first_line"], row["first_message"]) == (
            2,
            1,
            "lock wait on table",
        )
        assert row["first_ts"] == at(0)


def test_followed_by_needs_the_trigger_first(rules: RuleSet) -> None:
    ev = events(
        {"ts": at(0), "message": "promote failed", "database": "sales"},
        {"ts": at(5), "message": "lock wait", "database": "sales"},
    )
    assert match(ev, rules).filter(pl.col("rule") == "TST02").height == 0


def test_followed_by_picks_latest_trigger_and_orders_equal_timestamps(rules: RuleSet) -> None:
    ev = events(
        {"ts": at(0), "message": "lock wait A", "database": "sales"},
        {"ts": at(50), "message": "lock wait B", "database": "sales"},
        {"ts": at(50), "message": "promote failed", "database": "sales"},
        {"ts": at(60), "message": "lock wait and promote failed", "database": "sales"},
    )
    out = match(ev, rules).filter(pl.col("rule") == "TST02")
    assert out["line"].to_list() == [3, 4]
    assert out["first_line"].to_list() == [2, 3 - 1]  # never the event itself


def test_followed_by_across_databases_in_one_pass(rules: RuleSet) -> None:
    ev = events(
        {"ts": at(0), "message": "lock wait", "database": "sales"},
        {"ts": at(1), "message": "lock wait", "database": "crm"},
        {"ts": at(2), "message": "promote failed", "database": "crm"},
        {"ts": at(3), "message": "promote failed", "database": "sales"},
    )
    out = match(ev, rules).filter(pl.col("rule") == "TST02")
    assert list(zip(out["line"], out["first_line"], strict=True)) == [(3, 2), (4, 1)]


def test_output_order_is_deterministic(rules: RuleSet) -> None:
    rows = [
        {"ts": at(s), "message": "boom", "node": n, "line": i}
        for i, (s, n) in enumerate([(5, "b"), (1, "a"), (5, "a"), (1, "a")])
    ]
    ev = events(*rows)
    out = match(ev, rules)
    assert out.select("ts", "node", "line").rows() == [
        (at(1), "a", 1),
        (at(1), "a", 3),
        (at(5), "a", 2),
        (at(5), "b", 0),
    ]
    assert match(ev.reverse(), rules).equals(out)


def test_empty_inputs(rules: RuleSet) -> None:
    assert match(events(), rules).schema == MATCHES
    assert match(events({"ts": at(0), "message": "boom"}), []).height == 0


def test_many_rules_one_frame() -> None:
    ev = events(
        *(
            {"ts": at(i), "message": m}
            for i, m in enumerate(
                [
                    "Not enough memory available",
                    "socket (107) ETIMEDOUT in recv",
                    "Lock wait timeout exceeded",
                    "fine",
                ]
            )
        )
    )
    out = match(ev, load_rules())
    assert dict(zip(out["line"], out["rule"], strict=True)) == {1: "MEM01", 2: "NET01", 3: "LOCK01"}


# --------------------------------------------------------------------------- prefilters

_WORDS = ["leaf", "node", "heartbeat", "failed", "missed", "offline", "state", "changed",
          "to", "is", "down", "RECOVERY_FAILED", "Heartbeat", "x"]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(_WORDS), min_size=1, max_size=8).map(" ".join),
            st.sampled_from(["INFO", "WARN", "ERROR"]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_prefilters_never_lose_a_match(lines: list[tuple[str, str]]) -> None:
    """NODE02's alternation (its branches' own texts, its level gate) gathers no fewer
    rows than the condition holds on: the engine agrees with the condition run on every
    row, heartbeat lines or not."""
    (node02,) = [r for r in load_rules() if r.id == "NODE02"]
    ev = events(*({"ts": at(i), "message": m, "level": lv} for i, (m, lv) in enumerate(lines)))
    expected = ev.with_row_index("r").filter(node02.when.expr).get_column("line").to_list()
    got = match(ev, [node02]).get_column("line").to_list()
    assert sorted(got) == sorted(expected)


def test_an_alternation_gathers_rows_by_each_branch_s_own_texts() -> None:
    """Past the cap on clauses, the alternation's single clause holds every branch's
    longest text ("heartbeat"); the branches keep their own (failed, missed, stat...)."""
    (node02,) = [r for r in load_rules() if r.id == "NODE02"]
    prefilter = node02.when.prefilter
    assert prefilter is not None
    assert any("heartbeat" in clause for clause in prefilter.clauses)
    assert frozenset({"recovery_failed"}) in prefilter.branches[0]
    assert len(prefilter.branches) >= 8 and prefilter.gate  # (level in (WARN, ERROR, FAILURE))
