"""Run a rule set over the events frame: one vectorised pass, then one as-of join.

Output (:data:`MATCHES`): one row per (rule, matching event). For a ``followed_by`` rule
the row is the **second** event (the consequence); ``first_*`` columns name the trigger,
the most recent ``when`` event before it within ``within`` that agrees on the ``same``
keys. For simple rules the ``first_*`` columns are null.

How it runs: every ``when`` and ``followed_by`` expression is evaluated in one select over
the events (one boolean column per condition); the true cells of each column become
(row, rule) hits. Correlation is a single ``join_asof`` over all followed_by rules at once, grouped
by (rule, key columns), where a key a rule does not require is a constant. Rows whose
required key or time is null cannot be correlated. Order: ts, node, file, line, rule.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import polars as pl

from ..schemas import EVENTS, conform
from .condition import Condition, Prefilter
from .model import Rule, RuleSet

#: The match frame (one row per rule hit).
MATCHES = pl.Schema(
    {
        "rule": pl.String(),
        "cause": pl.String(),
        "factor": pl.String(),
        "severity": pl.String(),
        "node": pl.String(),
        "file": pl.String(),
        "line": pl.Int64(),
        "ts": EVENTS["ts"],
        "level": pl.String(),
        "message": pl.String(),
        "database": pl.String(),
        "ordinal": pl.Int64(),
        "phase_kind": pl.String(),
        "target": pl.String(),
        "error_code": pl.Int64(),
        "first_node": pl.String(),  # followed_by rules only: the trigger event
        "first_database": pl.String(),
        "first_file": pl.String(),
        "first_line": pl.Int64(),
        "first_ts": EVENTS["ts"],
        "first_message": pl.String(),
    }
)

_ORDER = ["ts", "node", "file", "line", "rule"]
_KEYS = {"database": "__k_database", "node": "__k_node", "ordinal": "__k_ordinal"}
_IDX = pl.UInt32


def match(events: pl.DataFrame, rules: RuleSet | Iterable[Rule]) -> pl.DataFrame:
    """All hits of ``rules`` in ``events`` (EVENTS schema), as a :data:`MATCHES` frame."""
    rule_list = list(rules)
    if not rule_list or events.height == 0:
        return pl.DataFrame(schema=MATCHES)
    frame = conform(events, EVENTS).with_row_index("__row")
    simple, first, second = _hits(frame, rule_list)
    parts = [simple.with_columns(_null_first())]
    if first.height and second.height:
        parts.append(_correlate(frame, first, second, rule_list))
    hits = pl.concat(parts, how="diagonal_relaxed")
    return _finish(frame, hits, rule_list)


def _hits(
    frame: pl.DataFrame, rules: list[Rule]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(simple hits, followed_by triggers, followed_by consequences): ``__row``, ``__rule``."""
    conditions: dict[str, Condition] = {}
    for i, rule in enumerate(rules):
        conditions[f"w{i}"] = rule.when
        if rule.followed_by is not None:
            conditions[f"f{i}"] = rule.followed_by
    rows = _true_rows(frame, conditions)
    simple = [(i, f"w{i}") for i, r in enumerate(rules) if r.followed_by is None]
    first = [(i, f"w{i}") for i, r in enumerate(rules) if r.followed_by is not None]
    second = [(i, f"f{i}") for i, r in enumerate(rules) if r.followed_by is not None]
    return _rows_of(rows, simple), _rows_of(rows, first), _rows_of(rows, second)


def _true_rows(frame: pl.DataFrame, conditions: dict[str, Condition]) -> dict[str, pl.Series]:
    """``__row`` of the rows where each condition holds (ascending).

    A regex costs the same on a row whether or not it is masked out, so a condition with
    a prefilter (a literal its matches must contain) runs only on the rows gathered by
    that prefilter: one Aho-Corasick pass finds, for all conditions at once, which rows
    hold which literals. Conditions without a prefilter run in one select over all rows.
    """
    prefilters = {name: c.prefilter for name, c in conditions.items()}
    full = [name for name, p in prefilters.items() if p is None]
    out: dict[str, pl.Series] = {}
    if full:
        flags = frame.lazy().select(**{n: conditions[n].expr for n in full}).collect()
        out.update({n: flags[n].arg_true().cast(_IDX) for n in full})
    gated = {n: p for n, p in prefilters.items() if p is not None}
    for name, rows in _candidates(frame, gated).items():
        sub = frame.select(pl.all().gather(rows))
        gate = gated[name].gate_expr()
        if gate is not None:  # (the exact regex-free parts first: a regex costs far more)
            sub = sub.filter(gate.fill_null(False))
        keep = sub.select(conditions[name].expr).to_series()
        out[name] = sub.get_column("__row").filter(keep)
    return out


def _candidates(frame: pl.DataFrame, prefilters: dict[str, Prefilter]) -> dict[str, pl.Series]:
    """``__row`` of the rows that pass each prefilter (ascending, unique). A superset is
    fine (the condition itself runs on them); a clause of a prefilter is enough."""
    found: dict[str, list[pl.Series]] = {n: [] for n in prefilters}
    clause = _rarest_clauses(frame, {n: p for n, p in prefilters.items() if p.clauses})
    if clause:
        texts = sorted(set().union(*clause.values()))
        msg = pl.col("message")
        rows = (
            frame.lazy()
            .select(
                "__row", "message", (msg.str.len_bytes() != msg.str.len_chars()).alias("__wide")
            )
            .filter(msg.str.contains_any(texts, ascii_case_insensitive=True) | pl.col("__wide"))
            .collect()
        )
        held = (
            rows.lazy()
            .select("__row", _texts(msg, texts).alias("__text"))
            .explode("__text")
            .unique()
        )
        wanted = pl.LazyFrame(
            [(t, n) for n, c in clause.items() for t in c],
            schema={"__text": pl.String, "__cond": pl.String},
            orient="row",
        )
        pairs = held.join(wanted, on="__text").group_by("__cond").agg("__row").collect()
        # Non-ASCII text passes every clause: (?i) folds some non-ASCII letters to ASCII.
        wide = rows.filter(pl.col("__wide")).get_column("__row")
        for name, hit in zip(pairs["__cond"].to_list(), pairs["__row"], strict=True):
            found[name].append(hit)
        for name in clause:
            found[name].append(wide)
    exprs = [(n, e) for n, p in prefilters.items() for e in p.expr_terms()]
    if exprs:
        flags = frame.lazy().select(e.alias(f"{i}") for i, (_, e) in enumerate(exprs)).collect()
        for i, (name, _) in enumerate(exprs):
            found[name].append(flags[f"{i}"].arg_true())
    return {
        name: pl.concat([pl.Series("__row", [], dtype=_IDX), *(r.cast(_IDX) for r in parts)])
        .unique()
        .sort()
        for name, parts in found.items()
    }


def _texts(msg: pl.Expr, texts: list[str]) -> pl.Expr:
    """The distinct ``texts`` (lower case) that occur in ``msg``, ignoring ASCII case."""
    held = msg.str.extract_many(texts, ascii_case_insensitive=True, overlapping=True)
    return held.list.eval(pl.element().str.to_lowercase()).list.unique()


#: Rows looked at to estimate how common each prefilter text is.
_SAMPLE_ROWS = 2048


def _rarest_clauses(
    frame: pl.DataFrame, prefilters: dict[str, Prefilter]
) -> dict[str, frozenset[str]]:
    """For each prefilter, the clause that the fewest rows of a sample of ``frame`` pass
    (any one clause is a necessary condition; the rarest gathers the fewest rows)."""
    if not prefilters:
        return {}
    every = [c for p in prefilters.values() for c in (*p.clauses, *itertools.chain(*p.branches))]
    texts = sorted({t for c in every for t in c})
    step = max(1, frame.height // _SAMPLE_ROWS)
    sample = frame.select(_texts(pl.col("message").gather_every(step), texts).alias("t"))
    counts = dict(sample.get_column("t").explode().drop_nulls().value_counts().iter_rows())

    def cost(c: frozenset[str]) -> tuple[int, int, list[str]]:
        return (sum(counts.get(t, 0) for t in c), -min(map(len, c)), sorted(c))

    def rarest(p: Prefilter) -> frozenset[str]:
        best = min(p.clauses, key=cost)
        if p.branches:  # one clause of each branch, together
            union = frozenset().union(*(min(b, key=cost) for b in p.branches))
            best = min(best, union, key=cost)
        return best

    return {name: rarest(p) for name, p in prefilters.items()}


def _rows_of(rows: dict[str, pl.Series], columns: list[tuple[int, str]]) -> pl.DataFrame:
    """Long (``__row``, ``__rule``) frame of the rows of ``columns`` (one per rule)."""
    parts = [
        pl.DataFrame({"__row": rows[name]}).with_columns(pl.lit(i, dtype=_IDX).alias("__rule"))
        for i, name in columns
    ]
    if not parts:
        return pl.DataFrame(schema={"__row": _IDX, "__rule": _IDX})
    return pl.concat(parts).with_columns(pl.col("__row").cast(_IDX))


def _null_first() -> list[pl.Expr]:
    return [pl.lit(None, dtype=MATCHES[c]).alias(c) for c in MATCHES if c.startswith("first_")]


def _rule_meta(rules: list[Rule]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "__rule": list(range(len(rules))),
            "rule": [r.id for r in rules],
            "cause": [r.cause for r in rules],
            "factor": [r.factor for r in rules],
            "severity": [r.severity for r in rules],
            "__within_us": [
                int(r.within.total_seconds() * 1e6) if r.within else None for r in rules
            ],
            **{f"__same_{k}": [k in r.same for r in rules] for k in _KEYS},
        },
        schema_overrides={"__rule": _IDX, "__within_us": pl.Int64},
    )


def _keyed(frame: pl.DataFrame, hits: pl.DataFrame, meta: pl.DataFrame) -> pl.DataFrame:
    """Hits with their time and correlation keys; rows that cannot be correlated dropped."""
    cols = frame.select("__row", "ts", "node", "file", "line", "database", "ordinal")
    keyed = hits.join(cols, on="__row").join(
        meta.select(pl.exclude("rule", "cause", "factor", "severity")), on="__rule"
    )
    keys = [
        pl.when(pl.col(f"__same_{k}"))
        .then(pl.col(k).cast(pl.String))
        .otherwise(pl.lit("*"))
        .alias(name)
        for k, name in _KEYS.items()
    ]
    return keyed.with_columns(keys).drop_nulls(["ts", *_KEYS.values()])


def _correlate(
    frame: pl.DataFrame, first: pl.DataFrame, second: pl.DataFrame, rules: list[Rule]
) -> pl.DataFrame:
    meta = _rule_meta(rules)
    first_k, second_k = _keyed(frame, first, meta), _keyed(frame, second, meta)
    # A total order of the events involved, so "before" is strict even at equal timestamps.
    seq = (
        pl.concat(
            [
                first_k.select("__row", "ts", "node", "file", "line"),
                second_k.select("__row", "ts", "node", "file", "line"),
            ]
        )
        .unique("__row")
        .sort(["ts", "node", "file", "line", "__row"], nulls_last=True)
        .with_row_index("__seq")
        .select("__row", "__seq")
    )
    left = second_k.join(seq, on="__row").sort("__seq")
    right = (
        first_k.join(seq, on="__row")
        .sort("__seq")
        .select(
            "__seq",
            "__rule",
            *_KEYS.values(),
            pl.col("__row").alias("__first_row"),
            pl.col("ts").alias("__first_ts"),
        )
    )
    joined = left.join_asof(
        right,
        on="__seq",
        by=["__rule", *_KEYS.values()],
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    )
    gap_us = (pl.col("ts") - pl.col("__first_ts")).dt.total_microseconds()
    kept = joined.filter(pl.col("__first_row").is_not_null() & (gap_us <= pl.col("__within_us")))
    trigger = frame.select(
        pl.col("__row").alias("__first_row"),
        *[pl.col(c.removeprefix("first_")).alias(c) for c in MATCHES if c.startswith("first_")],
    )
    return (
        kept.select("__row", "__rule", "__first_row")
        .join(trigger, on="__first_row")
        .drop("__first_row")
    )


def _finish(frame: pl.DataFrame, hits: pl.DataFrame, rules: list[Rule]) -> pl.DataFrame:
    meta = _rule_meta(rules).select("__rule", "rule", "cause", "factor", "severity")
    event_cols = [c for c in MATCHES if c in EVENTS]
    out = hits.join(meta, on="__rule").join(frame.select("__row", *event_cols), on="__row")
    return out.select([pl.col(c).cast(t) for c, t in MATCHES.items()]).sort(_ORDER, nulls_last=True)
