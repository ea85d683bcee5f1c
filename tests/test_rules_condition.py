"""The condition language: grammar, types, errors with place, compilation to Polars."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics.errors import RuleError
from forensics.rules import parse_condition
from forensics.rules.condition import BoolOp, Not, Predicate
from forensics.schemas import EVENTS, conform

ROWS = [
    {
        "level": "ERROR",
        "message": "COPY PARTITION sales:3 failed: error 1205",
        "database": "sales",
        "error_code": 1205,
        "ordinal": 3,
    },
    {
        "level": "WARN",
        "message": "socket (107) ETIMEDOUT in recv",
        "database": None,
        "error_code": None,
        "ordinal": None,
    },
    {
        "level": "INFO",
        "message": "Kill QUERY 17 issued",
        "database": "crm",
        "error_code": 1317,
        "ordinal": 1,
    },
    {"level": "INFO", "message": None, "database": None, "error_code": None, "ordinal": None},
]


@pytest.fixture(scope="module")
def events() -> pl.DataFrame:
    frame = pl.DataFrame(ROWS).with_columns(pl.lit(datetime(2026, 3, 2, tzinfo=UTC)).alias("ts"))
    return conform(frame, EVENTS)


def rows(events: pl.DataFrame, text: str) -> list[int]:
    """Indexes of the rows where ``text`` holds."""
    mask = events.select(parse_condition(text).expr.alias("m"))["m"]
    assert mask.null_count() == 0
    return [i for i, hit in enumerate(mask) if hit]


# --------------------------------------------------------------------------- grammar


def test_and_binds_tighter_than_or() -> None:
    root = parse_condition("level == A or level == B and level == C").root
    assert isinstance(root, BoolOp) and root.op == "or"
    assert isinstance(root.items[1], BoolOp) and root.items[1].op == "and"


def test_not_binds_tighter_than_and() -> None:
    root = parse_condition("not level == A and level == B").root
    assert isinstance(root, BoolOp) and root.op == "and"
    assert isinstance(root.items[0], Not)


def test_parentheses_override_precedence() -> None:
    root = parse_condition("(level == A or level == B) and level == C").root
    assert isinstance(root, BoolOp) and root.op == "and"
    assert isinstance(root.items[0], BoolOp) and root.items[0].op == "or"


def test_keywords_are_case_insensitive() -> None:
    root = parse_condition('NOT message CONTAINS "x" AND level IN (WARN)').root
    assert isinstance(root, BoolOp) and root.op == "and"


def test_string_escapes() -> None:
    pred = parse_condition(r'message contains "say \"hi\" \\ now"').root
    assert isinstance(pred, Predicate)
    assert pred.value.value == 'say "hi" \\ now'


def test_fields_are_reported() -> None:
    cond = parse_condition("error_code in (1712, 1720) or database is null")
    assert cond.fields == {"error_code", "database"}


# --------------------------------------------------------------------------- evaluation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('message contains "etimedout"', [1]),
        ('message contains "KILL query"', [2]),
        ("message ~ /kill\\s+query/", [2]),
        ("message ~ /kill\\s+query/c", []),
        ("message ~ /Kill\\s+QUERY/c", [2]),
        ("message ~ /sales:\\d+/i", [0]),
        ("message ~ /a\\/b|ETIMEDOUT/", [1]),
        ("level in (WARN, ERROR)", [0, 1]),
        ('level == "INFO"', [2, 3]),
        ("level != INFO", [0, 1]),
        ("error_code == 1205", [0]),
        ("error_code in (1712, 1205, 1317)", [0, 2]),
        ("error_code not in (1205)", [2]),
        ("error_code > 1205", [2]),
        ("error_code >= 1205 and ordinal < 3", [2]),
        ("database is null", [1, 3]),
        ("database is not null", [0, 2]),
        ('database != "sales"', [2]),  # null database: comparison is false
        ('not database == "sales"', [1, 2, 3]),
        ('not message contains "x"', [0, 1, 2, 3]),  # null message: predicate false, not -> true
        ("level == ERROR or level == WARN and error_code is not null", [0]),
        ("(level == ERROR or level == WARN) and error_code is null", [1]),
        ("not not level == WARN", [1]),
    ],
)
def test_compiles_to_polars(events: pl.DataFrame, text: str, expected: list[int]) -> None:
    assert rows(events, text) == expected


def test_regex_flags_combine() -> None:
    # multi-line flag on top of the default case-insensitivity
    frame = conform(pl.DataFrame({"message": ["first\nSECOND line"]}), EVENTS)
    cond = parse_condition("message ~ /^second/m")
    assert frame.select(cond.expr)[0, 0] is True


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("level == ", 10, "Expected"),
        ("level = WARN", 7, "operator"),
        ("(level == WARN", 15, "')'"),
        ("level == WARN or", 15, "end of text"),
        ("message ~ /(/", 11, "invalid regex"),
        ("message ~ /x/q", 11, "regex flag"),
        ('messages contains "x"', 1, "unknown field 'messages'"),
        ('error_code == "1205"', 15, "integer field"),
        ("level == 5", 10, "text field"),
        ('error_code contains "1"', 1, "needs a text field"),
        ('message < "a"', 1, "needs an integer field"),
        ("ts == 5", 1, "is null"),
        ("level in ()", 11, "Expected value"),
        ("error_code == 99999999999999999999", 15, "out of range"),
    ],
)
def test_errors_carry_path_line_and_column(text: str, column: int, fragment: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_condition(text, path="rules/x.toml", line=12)
    err = info.value
    assert (err.path, err.line) == ("rules/x.toml", 12)
    assert f"column {column}:" in err.message
    assert fragment in err.message
    assert str(err).startswith("rules/x.toml:12: condition column")


def test_error_line_in_a_multiline_condition() -> None:
    with pytest.raises(RuleError) as info:
        parse_condition('message contains "x"\n  and bogus == 1', path="r.toml", line=7)
    assert info.value.line == 8
    assert "line 2, column 7" in info.value.message


def test_empty_condition() -> None:
    with pytest.raises(RuleError, match="empty condition"):
        parse_condition("   ")


def test_deep_nesting_is_a_rule_error() -> None:
    text = "(" * 2000 + "level == WARN" + ")" * 2000
    with pytest.raises(RuleError):
        parse_condition(text)


_TOKENS = st.sampled_from(
    [
        "message",
        "level",
        "error_code",
        "ts",
        "database",
        "contains",
        "~",
        "==",
        "!=",
        "<",
        ">=",
        "in",
        "not",
        "is",
        "null",
        "and",
        "or",
        "(",
        ")",
        ",",
        '"x"',
        '"a\\"',
        "/a(/",
        "/x/i",
        "/[z-a]/",
        "1205",
        "-3",
        "WARN",
        "bogus",
        "\n",
        "/x/qq",
        '"',
    ],
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(_TOKENS, max_size=12).map(" ".join)))
def test_random_conditions_only_raise_rule_error(text: str) -> None:
    try:
        cond = parse_condition(text, path="fuzz.toml", line=1)
    except RuleError as err:
        assert err.path == "fuzz.toml"
        return
    frame = conform(pl.DataFrame({"message": ["x"], "level": ["WARN"]}), EVENTS)
    assert frame.select(cond.expr.alias("m"))["m"].dtype == pl.Boolean
