"""The rule condition language: parsed with pyparsing, compiled to a Polars expression.

A condition is a boolean formula over the columns of the events frame
(:data:`forensics.schemas.EVENTS`). Grammar (keywords are case-insensitive)::

    condition  := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" or_expr ")" | predicate
    predicate  := FIELD "contains" STRING            case-insensitive literal substring
                | FIELD "~" REGEX                    regex search, case-insensitive by default
                | FIELD "is" ["not"] "null"
                | FIELD ["not"] "in" "(" value ("," value)* ")"
                | FIELD OP value                     OP: == != < <= > >=
    value      := STRING | INTEGER | WORD            WORD: a bare identifier, read as a string
    STRING     := "..." with backslash escapes (\\" \\\\ \\n \\t)
    REGEX      := /pattern/flags                     \\/ for a slash; flags from i m s x c

Precedence: ``not`` binds tighter than ``and``, which binds tighter than ``or``.

Types follow the schema: string columns (``message``, ``level``, ``database`` ...) take
strings and every operator except ``<``/``>``; integer columns (``error_code``,
``ordinal``, ``line`` ...) take integers and every operator except ``contains``/``~``;
``ts`` only supports ``is [not] null``. ``==``/``in`` on strings are exact (values in the
frame are canonical: ``level`` is upper case, ``phase_kind`` lower case).

Regex flags: ``i`` case-insensitive (the default), ``c`` case-sensitive, ``m`` multi-line,
``s`` dot matches newline, ``x`` verbose. Patterns use the Rust ``regex`` syntax that Polars
runs (no look-around, no back-references); a pattern Polars rejects is a rule error.

Null semantics: a predicate on a null value is false (``not`` then makes it true), so
``database != "x"`` does not hold for lines that name no database; test for absence with
``is null``.

Every error is a :class:`~forensics.errors.RuleError` carrying the file and line, with
the column inside the condition in its message.
"""

from __future__ import annotations

import operator
import re
import re._constants as _sre
import re._parser as _sre_parse
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, reduce
from typing import Any

import polars as pl
import pyparsing as pp

from ..errors import RuleError
from ..schemas import EVENTS

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MAX_LENGTH = 10_000
_REGEX_FLAGS = frozenset("imsxc")
_ORDER_OPS = frozenset({"<", "<=", ">", ">="})
_COMPARE: dict[str, Callable[[Any, Any], pl.Expr]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _field_kind(dtype: pl.DataType) -> str:
    if dtype == pl.String:
        return "string"
    if dtype.is_integer():
        return "int"
    return "other"


#: Field name -> "string" / "int" / "other" (only ``is null``), from the EVENTS schema.
FIELD_KINDS: dict[str, str] = {name: _field_kind(dtype) for name, dtype in EVENTS.items()}


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Predicate:
    """``field op value``; ``op`` is one of contains, ~, is_null, in, ==, != ... ."""

    field: str
    op: str
    value: Any
    loc: int
    value_loc: int
    negated: bool = False  # ``is not null`` / ``not in``


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" / "or"
    items: tuple[Node, ...]


Node = Predicate | Not | BoolOp


@dataclass(frozen=True)
class Regex:
    pattern: str
    flags: str


@dataclass(frozen=True)
class Lit:
    """A literal with its kind ("str" / "int" / "re") and position in the condition."""

    kind: str
    loc: int
    value: Any


@dataclass(frozen=True)
class Condition:
    """A parsed, checked condition. ``expr`` is the Polars boolean expression (never null)."""

    source: str
    root: Node

    # Derived once per condition (the prefilter parses its regexes in Python: about
    # 35 ms for the built-in pack), and derived by load_rules, which the command line
    # and analysis.analyze run on a second thread while the bundle loads.
    @cached_property
    def expr(self) -> pl.Expr:
        return _compile(self.root)

    @cached_property
    def fields(self) -> frozenset[str]:
        return frozenset(_fields(self.root))

    @cached_property
    def prefilter(self) -> Prefilter | None:
        """A cheap necessary condition (see :class:`Prefilter`); None when there is none."""
        return _prefilter(self.root)


@dataclass(frozen=True)
class Prefilter:
    """A necessary condition of a :class:`Condition`, cheap to test, so that the condition
    itself only needs to run on the rows that pass it (the rules engine does that).

    A row passes when its ``message`` holds, ignoring ASCII case, one text of every clause
    of ``clauses`` (texts are lower-case ASCII; a message with non-ASCII text passes them
    all: ``(?i)`` folds some non-ASCII letters to ASCII ones), or when one of ``exprs`` (a
    regex-free part of the condition, compiled exactly) holds.

    ``gate``: regex-free parts that the condition requires besides its text search (the
    ``level in (WARN, ERROR)`` of ``message ~ /.../ and level in (...)``), cheap to test
    exactly on the rows the clauses gather before the condition's regexes run on them
    (heartbeat lines hold a rule's word but are INFO).
    """

    clauses: tuple[frozenset[str], ...] = ()
    exprs: tuple[Node, ...] = ()
    gate: tuple[Node, ...] = ()
    #: For a regex that is one alternation whose branches need different texts: each
    #: branch's clauses. One clause from each branch, together, is necessary too, and
    #: may gather far fewer rows than a clause of ``clauses`` (which, past the cap on
    #: their number, is the union of every branch's longest texts: "heartbeat" of one
    #: branch in every clause, when heartbeat lines are the log's most common).
    branches: tuple[tuple[frozenset[str], ...], ...] = ()

    def expr_terms(self) -> list[pl.Expr]:
        return [_compile(node) for node in self.exprs]

    def gate_expr(self) -> pl.Expr | None:
        """The ``gate`` parts, all of them, as one expression (None when there are none)."""
        terms = [_compile(node) for node in self.gate]
        return reduce(operator.and_, terms) if terms else None


# --------------------------------------------------------------------------- grammar


def _build_grammar() -> pp.ParserElement:
    kw = {w: pp.CaselessKeyword(w) for w in ("and", "or", "not", "in", "is", "null", "contains")}
    field: pp.ParserElement = pp.Word(pp.alphas + "_", pp.alphanums + "_")
    field = (~pp.MatchFirst(list(kw.values())) + field).set_name("field name")
    field.set_parse_action(lambda s, loc, t: Lit("field", _at(s, loc), t[0]))
    string: pp.ParserElement = pp.QuotedString('"', esc_char="\\", convert_whitespace_escapes=True)
    string = string.set_name("string").set_parse_action(
        lambda s, loc, t: Lit("str", _at(s, loc), t[0])
    )
    integer = pp.Regex(r"-?\d+").set_name("integer")
    integer.set_parse_action(lambda s, loc, t: Lit("int", _at(s, loc), int(t[0])))
    word = ~pp.MatchFirst(list(kw.values())) + pp.Word(pp.alphas + "_", pp.alphanums + "_")
    word = word.set_name("word").set_parse_action(lambda s, loc, t: Lit("str", _at(s, loc), t[0]))
    value = (string | integer | word).set_name("value")
    regex = pp.Regex(r"/((?:[^/\\\n]|\\.)+)/([A-Za-z]*)").set_name("/regex/")
    regex.set_parse_action(lambda s, loc, t: Lit("re", _at(s, loc), _split_regex(t[0])))
    op = pp.one_of("== != <= >= < >").set_name("operator")
    lpar, rpar = pp.Suppress("("), pp.Suppress(")")
    value_list = pp.Group(lpar + pp.DelimitedList(value) + rpar)

    tail = (
        (kw["contains"].suppress() + string).set_parse_action(_tail("contains"))
        | (pp.Suppress("~") + regex).set_parse_action(_tail("~"))
        | (kw["is"].suppress() + pp.Opt(kw["not"]) + kw["null"].suppress()).set_parse_action(
            _tail("is_null")
        )
        | (pp.Opt(kw["not"]) + kw["in"].suppress() + value_list).set_parse_action(_tail("in"))
        | (op + value).set_parse_action(_tail("cmp"))
    ).set_name("operator (contains, ~, is null, in, ==, !=, <, <=, >, >=)")
    predicate = (field + tail).set_parse_action(_make_predicate)
    expr = pp.Forward()
    atom = (lpar + expr + rpar) | predicate
    not_expr = pp.Forward()
    not_expr <<= (kw["not"].suppress() + not_expr).set_parse_action(lambda t: Not(t[0])) | atom
    and_expr = (not_expr + (kw["and"].suppress() + not_expr)[...]).set_parse_action(_bool("and"))
    expr <<= (and_expr + (kw["or"].suppress() + and_expr)[...]).set_parse_action(_bool("or"))
    return expr


def _at(text: str, loc: int) -> int:
    """``loc`` moved past whitespace (pyparsing may report where skipping began)."""
    while loc < len(text) and text[loc].isspace():
        loc += 1
    return loc


def _split_regex(token: str) -> Regex:
    body, flags = token[1:].rsplit("/", 1)
    return Regex(body, flags)


def _bool(op: str) -> Any:
    def action(t: pp.ParseResults) -> Node:
        items = tuple(t)
        return items[0] if len(items) == 1 else BoolOp(op, items)

    return action


@dataclass(frozen=True)
class _Tail:
    kind: str
    tokens: tuple[Any, ...]


def _tail(kind: str) -> Any:
    def action(t: pp.ParseResults) -> _Tail:
        return _Tail(kind, tuple(t))

    return action


def _make_predicate(t: pp.ParseResults) -> Predicate:
    loc, field = t[0].loc, t[0].value
    tail: _Tail = t[1]
    toks = tail.tokens
    if tail.kind == "is_null":
        return Predicate(field, "is_null", None, loc, loc, negated=bool(toks))
    if tail.kind == "in":
        values = tuple(toks[-1])
        return Predicate(field, "in", values, loc, values[0].loc, negated=len(toks) == 2)
    if tail.kind == "cmp":
        return Predicate(field, toks[0], toks[1], loc, toks[1].loc)
    return Predicate(field, tail.kind, toks[0], loc, toks[0].loc)


_GRAMMAR = _build_grammar()


# --------------------------------------------------------------------------- parse + check


def parse_condition(text: str, *, path: str | None = None, line: int | None = None) -> Condition:
    """Parse and type-check ``text``; ``line`` is the file line on which ``text`` starts.

    Raises :class:`RuleError` (``path:line``, column in the message) on any problem.
    """
    if not isinstance(text, str) or not text.strip():
        raise RuleError("empty condition", path, line)
    if len(text) > _MAX_LENGTH:
        raise RuleError(f"condition longer than {_MAX_LENGTH} characters", path, line)
    try:
        root = _GRAMMAR.parse_string(text, parse_all=True)[0]
    except pp.ParseBaseException as exc:
        found = text[exc.loc : exc.loc + 20].split("\n")[0] or "end of condition"
        raise _error(text, exc.loc, f"{exc.msg}, found {found!r}", path, line) from None
    except RecursionError:
        raise RuleError("condition nested too deeply", path, line) from None
    _check(root, text, path, line)
    return Condition(text, root)


def _error(text: str, loc: int, msg: str, path: str | None, line: int | None) -> RuleError:
    col = pp.col(loc, text)
    extra_lines = text.count("\n", 0, loc)
    at = f"line {extra_lines + 1}, " if "\n" in text else ""
    file_line = None if line is None else line + extra_lines
    return RuleError(f"condition {at}column {col}: {msg}", path, file_line)


def _check(node: Node, text: str, path: str | None, line: int | None) -> None:
    if isinstance(node, BoolOp):
        for item in node.items:
            _check(item, text, path, line)
    elif isinstance(node, Not):
        _check(node.item, text, path, line)
    else:
        problem = _predicate_problem(node)
        if problem is not None:
            loc, msg = problem
            raise _error(text, loc, msg, path, line)


def _predicate_problem(p: Predicate) -> tuple[int, str] | None:
    kind = FIELD_KINDS.get(p.field)
    if kind is None:
        known = ", ".join(FIELD_KINDS)
        return p.loc, f"unknown field {p.field!r} (fields: {known})"
    if p.op == "is_null":
        return None
    if kind == "other":
        return p.loc, f"field {p.field!r} only supports 'is null' / 'is not null'"
    if p.op in ("contains", "~"):
        if kind != "string":
            return p.loc, f"'{p.op}' needs a text field; {p.field!r} is an integer"
        return _regex_problem(p) if p.op == "~" else None
    if p.op in _ORDER_OPS and kind == "string":
        return p.loc, f"'{p.op}' needs an integer field; {p.field!r} is text"
    values = p.value if p.op == "in" else (p.value,)
    for lit in values:
        if kind == "int" and lit.kind != "int":
            return lit.loc, f"{p.field!r} is an integer field; {lit.value!r} is not an integer"
        if kind == "string" and lit.kind != "str":
            return lit.loc, f'{p.field!r} is a text field; quote the value: "{lit.value}"'
        if lit.kind == "int" and not _INT64_MIN <= lit.value <= _INT64_MAX:
            return lit.loc, f"integer {lit.value} out of range"
    return None


def _regex_problem(p: Predicate) -> tuple[int, str] | None:
    loc, rx = p.value.loc, p.value.value
    bad = set(rx.flags) - _REGEX_FLAGS
    if bad:
        return loc, f"unknown regex flag(s) {''.join(sorted(bad))!r} (allowed: i m s x c)"
    try:
        pl.select(pl.lit(None, dtype=pl.String).str.contains(_regex_source(rx)))
    except Exception as exc:  # Polars reports bad patterns as ComputeError (or a panic)
        first = str(exc).strip().splitlines()
        detail = " ".join(s.strip() for s in first[:4] if s.strip())
        return loc, f"invalid regex: {detail}"
    return None


# --------------------------------------------------------------------------- compile


def _regex_source(rx: Regex) -> str:
    flags = set(rx.flags)
    if "c" not in flags:
        flags.add("i")
    flags.discard("c")
    prefix = f"(?{''.join(sorted(flags))})" if flags else ""
    return prefix + rx.pattern


def _compile(node: Node) -> pl.Expr:
    if isinstance(node, BoolOp):
        exprs = [_compile(item) for item in node.items]
        return pl.all_horizontal(exprs) if node.op == "and" else pl.any_horizontal(exprs)
    if isinstance(node, Not):
        return ~_compile(node.item)
    return _compile_predicate(node).fill_null(False)


def _compile_predicate(p: Predicate) -> pl.Expr:
    col = pl.col(p.field)
    if p.op == "is_null":
        return col.is_not_null() if p.negated else col.is_null()
    if p.op == "contains":
        return col.str.contains("(?i)" + re.escape(p.value.value))
    if p.op == "~":
        return col.str.contains(_regex_source(p.value.value))
    if p.op == "in":
        member = col.is_in([lit.value for lit in p.value])
        return col.is_not_null() & ~member if p.negated else member
    return _COMPARE[p.op](col, p.value.value)


# --------------------------------------------------------------------------- prefilter

#: Literals shorter than this filter too little to be worth a prefilter.
_MIN_LITERAL = 3
#: Clauses kept when distributing an alternation over its branches' clauses.
_MAX_CLAUSES = 16
#: Rust regex syntax that Python's parser would read as literal text.
_RUST_ONLY = re.compile(r"\\[<>]|\\[bB]\{|\(\?[a-zA-Z-]*x")
_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT)

CNF = list[frozenset[str]]  # every clause holds: one of its texts occurs


def _prefilter(node: Node) -> Prefilter | None:
    """A necessary condition of ``node`` (true wherever ``node`` is), or None."""
    if not _has_text_search(node):
        return Prefilter(exprs=(node,))  # cheap as it is: its own exact prefilter
    if isinstance(node, Not):
        return None
    if isinstance(node, BoolOp):
        parts = [_prefilter(item) for item in node.items]
        if node.op == "and":  # every part is necessary
            clauses = [c for p in parts if p is not None and not p.exprs for c in p.clauses]
            if clauses:
                gate = tuple(i for i in node.items if not _has_text_search(i))
                branched = [p.branches for p in parts if p is not None and p.branches]
                branches = branched[0] if len(branched) == 1 else ()
                return Prefilter(tuple(dict.fromkeys(clauses)), gate=gate, branches=branches)
            return next((p for p in parts if p is not None), None)
        if any(p is None for p in parts):
            return None
        with_clauses = [list(p.clauses) for p in parts if p is not None and p.clauses]
        exprs = tuple(e for p in parts if p is not None for e in p.exprs)
        return Prefilter(tuple(_either(with_clauses)), exprs)
    clauses = _predicate_clauses(node)
    return Prefilter(tuple(clauses), branches=_predicate_branches(node)) if clauses else None


def _has_text_search(node: Node) -> bool:
    if isinstance(node, BoolOp):
        return any(_has_text_search(item) for item in node.items)
    if isinstance(node, Not):
        return _has_text_search(node.item)
    return node.op in ("contains", "~")


def _either(alternatives: list[CNF]) -> CNF:
    """Clauses that hold wherever one of ``alternatives`` does (each a CNF, none empty):
    (a1 and a2) or (b1) = (a1 or b1) and (a2 or b1), capped at _MAX_CLAUSES clauses;
    past the cap, one clause: the union of each alternative's strongest clause."""
    out: CNF = [frozenset()]
    for alt in alternatives:
        out = [c | d for c in out for d in alt]
        if len(out) > _MAX_CLAUSES:
            return [frozenset().union(*(max(alt, key=_strength) for alt in alternatives))]
    return list(dict.fromkeys(out)) if alternatives else []


def _strength(clause: frozenset[str]) -> tuple[int, int]:
    return (min(map(len, clause)), -len(clause))


def _predicate_clauses(p: Predicate) -> CNF:
    """For ``message contains`` / ``message ~``: clauses (texts in lower case) that every
    match satisfies, ignoring case; [] when there are none worth testing."""
    if p.field != "message":
        return []
    if p.op == "contains":
        text: str = p.value.value
        clauses = [frozenset({text.lower()})] if _printable_ascii(text) else []
    else:
        clauses = _regex_clauses(p.value.value)
    return [c for c in clauses if min(map(len, c)) >= _MIN_LITERAL]


def _printable_ascii(text: str) -> bool:
    return all(" " <= ch <= "~" for ch in text)


def _predicate_branches(p: Predicate) -> tuple[tuple[frozenset[str], ...], ...]:
    """For ``message ~ /a|b|.../`` (one alternation at the top level): the clauses of each
    branch, when every branch has some worth testing (:attr:`Prefilter.branches`)."""
    if p.field != "message" or p.op != "~" or not _parsable(p.value.value):
        return ()
    try:
        tree = list(_sre_parse.parse(p.value.value.pattern))
    except Exception:  # (as _regex_clauses)
        return ()
    # (the parser takes a prefix common to every branch out of the alternation: \b)
    at = [i for i, (op, _) in enumerate(tree) if op is _sre.BRANCH]
    if len(at) != 1:
        return ()
    head, (_, (_, alternatives)), tail = tree[: at[0]], tree[at[0]], tree[at[0] + 1 :]
    branches = []
    for branch in alternatives:
        whole = [*head, *branch, *tail]
        clauses = [c for c in _required(whole) if min(map(len, c)) >= _MIN_LITERAL]
        if not clauses:
            return ()
        branches.append(tuple(clauses))
    return tuple(branches)


def _parsable(rx: Regex) -> bool:
    """Whether Python's regex parser reads ``rx``'s literal text as Rust's does."""
    return not ("x" in rx.flags or _RUST_ONLY.search(rx.pattern) or _nested_class(rx.pattern))


def _regex_clauses(rx: Regex) -> CNF:
    r"""Clauses every match of ``rx`` satisfies (texts as written, to compare ignoring case).

    Read with Python's regex parser, which agrees with Rust's syntax on what is literal
    text except for the constructs refused here (nested classes, ``\<``, ``\b{...}``,
    verbose mode); a pattern it cannot parse gets no clauses."""
    if not _parsable(rx):
        return []
    try:
        tree = _sre_parse.parse(rx.pattern)
    except Exception:  # Rust-only syntax (\pL, \z, inline flags mid-pattern ...)
        return []
    return _required(list(tree))


def _nested_class(pattern: str) -> bool:
    """True when a ``[`` opens inside a character class (Rust: nested class or
    ``[[:alpha:]]``; Python would read it as a literal)."""
    i, n, inside = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if not inside and c == "[":
            inside, i = True, i + 1
            i += 1 if pattern.startswith("^", i) else 0
            i += 1 if pattern.startswith("]", i) else 0
            continue
        if inside and c == "[":
            return True
        if inside and c == "]":
            inside = False
        i += 1
    return False


def _required(items: list[tuple[Any, Any]]) -> CNF:
    """Clauses every match of a parsed regex sequence satisfies (texts in lower case)."""
    clauses: CNF = []
    run: list[str] = []
    for op, av in items:
        if op is _sre.LITERAL and 32 <= av < 127:
            run.append(chr(av))
            continue
        if run:
            clauses.append(frozenset({"".join(run).lower()}))
            run = []
        if op is _sre.SUBPATTERN:
            clauses += _required(list(av[-1]))
        elif op is _sre.ATOMIC_GROUP:
            clauses += _required(list(av))
        elif op is _sre.BRANCH:
            alternatives = [_required(list(b)) for b in av[1]]
            if all(alternatives):
                clauses += _either(alternatives)
        elif op in _REPEATS and av[0] >= 1:
            clauses += _required(list(av[2]))
    if run:
        clauses.append(frozenset({"".join(run).lower()}))
    return list(dict.fromkeys(clauses))


def _fields(node: Node) -> list[str]:
    if isinstance(node, BoolOp):
        return [f for item in node.items for f in _fields(item)]
    if isinstance(node, Not):
        return _fields(node.item)
    return [node.field]
