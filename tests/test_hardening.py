"""Hardening (SPEC §9): broken inputs never produce a traceback; everything is reported.

* the broken corpus (``fixtures/broken/expectations.toml``) run end to end through the CLI;
* inputs never modified, outputs written atomically, nothing extracted from archives;
* damaged archives (cut, bad CRC) keep what is readable and say what was lost;
* property tests over *mutated real inputs* (fixture tracelogs, tables, rule conditions,
  archives): never an unhandled exception, line counts add up.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import random
import re
import shutil
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics import schemas
from forensics.bundle import Member, iter_members
from forensics.cli import main
from forensics.consistency import overlap_warnings
from forensics.errors import ForensicsError, RuleError
from forensics.export import FORMULA_START, atomic_write
from forensics.parsers.tables import parse_tables
from forensics.parsers.tracelog import parse_lines, parse_tracelog
from forensics.rules.condition import parse_condition

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
BROKEN = FIXTURES / "broken"
sys.path.insert(0, str(BROKEN))
import generate_broken  # noqa: E402

EXPECTATIONS = tomllib.loads((BROKEN / "expectations.toml").read_text(encoding="utf-8"))["case"]


def tree_hash(root: Path) -> str:
    """Names, modes and contents of everything under ``root``."""
    digest = hashlib.sha256()
    paths = [root] if root.is_file() else sorted(root.rglob("*"))
    for path in paths:
        st_ = path.lstat()
        digest.update(f"{path.relative_to(root.parent)}|{st_.st_mode}|{st_.st_mtime_ns}".encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def run_cli(args: list[str]) -> Result:
    return CliRunner().invoke(main, args, catch_exceptions=False)


def assert_no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert "Traceback" not in (result.stderr or "")


# --------------------------------------------------------------------------- corpus


def test_generator_reproduces_the_committed_cases(tmp_path: Path) -> None:
    generate_broken.write_committed(tmp_path)
    for name in generate_broken.COMMITTED:
        made = {
            p.relative_to(tmp_path): p.read_bytes()
            for p in (tmp_path / name).rglob("*")
            if p.is_file()
        }
        stored = {
            p.relative_to(generate_broken.CASES_DIR): p.read_bytes()
            for p in (generate_broken.CASES_DIR / name).rglob("*")
            if p.is_file()
        }
        assert made == stored, f"{name}: run fixtures/broken/generate_broken.py"


def test_every_case_is_documented() -> None:
    readme = (BROKEN / "README.md").read_text(encoding="utf-8")
    names = {case["name"] for case in EXPECTATIONS}
    assert names == set(generate_broken.BUILDERS)
    assert all(f"`{name}`" in readme for name in names)


def _case_dir(case: dict[str, Any], tmp_path: Path) -> Path:
    if case["committed"]:
        return generate_broken.CASES_DIR / case["name"]
    return generate_broken.build(case["name"], tmp_path / "in")


def _matching_row(files: list[dict[str, Any]], want: dict[str, Any]) -> dict[str, Any]:
    rows = [
        f
        for f in files
        if f["path"].endswith(want["path"])
        and (("skipped_reason" in want) == (f["skipped_reason"] is not None))
    ]
    assert rows, f"no file row for {want} in {[f['path'] for f in files]}"
    return rows[0]


def _check_report(case: dict[str, Any], report: dict[str, Any]) -> None:
    for wanted in case.get("warnings", []):
        assert any(wanted in w for w in report["warnings"]), (wanted, report["warnings"])
    for want in case.get("files", []):
        row = _matching_row(report["input"]["files"], want)
        for key, value in want.items():
            if key == "skipped_reason":
                assert value in row[key], (row, want)
            elif key != "path":
                assert row[key] == value, (row, want)
    nodes = {n["node"]: n for n in report["nodes"]}
    for want in case.get("nodes", []):
        assert nodes[want["node"]]["restarts"] == want["restarts"]


@pytest.mark.parametrize(
    "case", EXPECTATIONS, ids=lambda c: f"{c['name']}-{' '.join(c['args'][2:])}"
)
def test_broken_corpus(
    case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _case_dir(case, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)  # anything extracted by mistake would land here
    before = tree_hash(folder)
    args = [a.format(case=folder, out=out) for a in case["args"]]
    result = run_cli(args)
    assert_no_traceback(result)
    assert result.exit_code == case["exit"], (result.output, result.stderr)
    assert tree_hash(folder) == before, "the input was modified"
    for wanted in case.get("stderr", []):
        assert wanted in result.stderr, (wanted, result.stderr)
    if case["exit"] == 2:
        assert result.stderr.startswith("forensics: ") and result.stderr.count("\n") == 1
        assert result.stdout == ""
    elif "--format" in args:
        _check_report(case, json.loads(result.stdout))
    produced = {p.name for p in out.rglob("*")}
    assert not {n for n in produced if "escaped" in n or "absolute" in n or n == "passwd.log"}
    assert not Path("/tmp/forensics-absolute.log").exists()
    assert not [n for n in produced if n.endswith(".tmp")], "a temporary file was left behind"
    if "html" in case or "no_html" in case:
        page = (out / "report.html").read_text(encoding="utf-8")
        assert all(s in page for s in case.get("html", []))
        assert not [s for s in case.get("no_html", []) if s in page]


def test_csv_export_neutralises_formulas(tmp_path: Path) -> None:
    target = tmp_path / "events.csv"
    result = run_cli(["events", str(generate_broken.CASES_DIR / "csv_formula"), "-o", str(target)])
    assert result.exit_code == 0, result.output
    with target.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    messages = [r["message"] for r in rows]
    assert sorted(messages) == sorted("'" + f for f in generate_broken.FORMULAS)
    for row in rows:
        assert not [v for v in row.values() if v.startswith(FORMULA_START)], row


def test_markdown_and_json_keep_injection_inert(tmp_path: Path) -> None:
    case = generate_broken.CASES_DIR / "script_injection"
    md, js = tmp_path / "r.md", tmp_path / "r.json"
    result = run_cli(["analyze", str(case), "--md", str(md), "--json", str(js)])
    assert result.exit_code == 0
    assert "<script>" not in md.read_text(encoding="utf-8")
    texts = [e["text"] for f in json.loads(js.read_text())["findings"] for e in f["evidence"]]
    assert any(generate_broken.INJECTION in t for t in texts)  # data stays data in JSON


# ----------------------------------------------------------------- every command, exit codes


BAD_INVOCATIONS = [
    (["analyze", "{missing}"], "no such file or directory"),
    (["analyze", "{empty}"], "empty bundle"),
    (["analyze", "{good}", "--tz", "Mars/Olympus"], "unknown time zone"),
    (["analyze", "{good}", "--since", "yesterday"], "cannot read time"),
    (["analyze", "{good}", "--node", "nonsense"], "--node expects GLOB=HOST:PORT"),
    (["analyze", "{good}", "--html", "{missing}/r.html"], "r.html: cannot write here"),
    (["analyze", "{good}", "--rules", "{badrules}"], "x.toml"),
    (["events", "{missing}"], "no such file or directory"),
    (["events", "{good}", "--grep", "("], "invalid --grep regex '(': unclosed group"),
    (["events", "{good}", "--level", "LOUD"], "unknown level"),
    (["events", "{good}", "-o", "{tmp}/x.xlsx"], "unknown output format"),
    (["events", "{good}", "-o", "{missing}/x.csv"], "x.csv: cannot write here"),
    (["scan", "{missing}", "-o", "{tmp}/s.parquet"], "no such file or directory"),
    (["scan", "{good}", "-o", "{missing}/s.parquet"], "s.parquet: cannot write here"),
    (["rules", "list", "--rules", "{badrules}"], "x.toml"),
    (["rules", "show", "NOPE"], "no rule with id"),
    (["rules", "show", "X", "--rules", "{missing}"], "rule directory not found"),
    (["rules", "test", "{badrules}"], "x.toml"),
]


@pytest.fixture
def places(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "empty").mkdir()
    bad = tmp_path / "badrules"
    bad.mkdir()
    (bad / "x.toml").write_text(
        'id = "X1"\ntitle = "t"\ncause = "kill"\nwhen = "message contains"\n'
    )
    return {
        "missing": str(tmp_path / "missing"),
        "empty": str(tmp_path / "empty"),
        "good": str(generate_broken.CASES_DIR / "script_injection"),
        "badrules": str(bad),
        "tmp": str(tmp_path),
    }


@pytest.mark.parametrize(
    "args,message", BAD_INVOCATIONS, ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_every_command_exits_2_with_one_line(
    args: list[str], message: str, places: dict[str, str]
) -> None:
    result = run_cli([a.format(**places) for a in args])
    assert_no_traceback(result)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.startswith("forensics: ") and result.stderr.count("\n") == 1


def test_debug_shows_the_traceback(places: dict[str, str]) -> None:
    result = run_cli(["--debug", "analyze", places["missing"]])
    assert result.exit_code == 2
    assert "Traceback" in result.stderr and "InputError" in result.stderr


def test_internal_error_is_exit_3_with_a_short_message(
    monkeypatch: pytest.MonkeyPatch, places: dict[str, str]
) -> None:
    import forensics.analysis

    def boom(*_: Any, **__: Any) -> None:
        raise KeyError("bug")

    monkeypatch.setattr(forensics.analysis, "analyze_bundle", boom)
    result = run_cli(["analyze", places["good"]])
    assert result.exit_code == 3
    assert (
        result.stderr
        == "forensics: internal error: KeyError: 'bug' (run with --debug for details)\n"
    )
    debug = run_cli(["--debug", "analyze", places["good"]])
    assert debug.exit_code == 3 and "Traceback" in debug.stderr


def test_scan_reports_broken_inputs_instead_of_failing(tmp_path: Path) -> None:
    built = [
        generate_broken.build(n, tmp_path / "in") for n in ("binary_memsql_log", "truncated_table")
    ]
    inputs = [built[0] / "memsql.log", built[1], _cut_archive(tmp_path)]
    result = run_cli(["scan", *map(str, inputs), "-o", str(tmp_path / "s.parquet"), "--jobs", "1"])
    assert_no_traceback(result)
    assert result.exit_code == 0, result.stderr
    stats = pl.read_parquet(tmp_path / "s.inputs.parquet")
    errors = dict(zip(stats["input"].to_list(), stats["error"].to_list(), strict=True))
    assert "nothing usable" in errors[str(inputs[0])]
    assert errors[str(inputs[1])] is None and errors[str(inputs[2])] is None


# ------------------------------------------------------------------ damaged archives


def _cut_archive(tmp_path: Path) -> Path:
    """A real sdb-report .tar.gz cut in half (a partial download)."""
    source = next((FIXTURES / "copy_kill_script").glob("*.tar.gz")).read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(source[: len(source) // 2])
    return cut


def test_cut_archive_keeps_what_was_read_and_says_what_was_lost(tmp_path: Path) -> None:
    result = run_cli(["analyze", str(_cut_archive(tmp_path)), "--format", "json"])
    assert_no_traceback(result)
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert any(
        "cut.tar.gz: truncated or corrupt compressed data after" in w for w in report["warnings"]
    )
    assert any("tar member cut short" in w for w in report["warnings"])
    read = [f for f in report["input"]["files"] if f["kind"] == "memsql_log"]
    assert read and all(f["lines"] > 0 for f in read)


def test_bad_crc_zip_member_is_read_and_reported(tmp_path: Path) -> None:
    log = next(FIXTURES.glob("copy_out_of_memory/*/tracelogs/memsql.log")).read_bytes()
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("leaf1_3306/memsql.log", log)
    data = bytearray(raw.getvalue())
    spot = data.index(b"Heartbeat", len(data) // 2)
    data[spot] = ord("h")
    bad = tmp_path / "crc.zip"
    bad.write_bytes(bytes(data))
    result = run_cli(["analyze", str(bad), "--format", "json"])
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert any("corrupt zip member" in w and "Bad CRC-32" in w for w in report["warnings"])
    row = next(f for f in report["input"]["files"] if f["kind"] == "memsql_log")
    assert row["lines"] > log.count(b"\n") // 2


def test_cut_gzip_log_keeps_its_first_part(tmp_path: Path) -> None:
    log = next(FIXTURES.glob("copy_out_of_memory/*/tracelogs/memsql.log")).read_bytes()
    packed = gzip.compress(log, mtime=0)
    cut = tmp_path / "leaf1_3306_memsql.log.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    result = run_cli(["analyze", str(cut), "--format", "json"])
    # the first half ends in the middle of the rebalance: its outcome is not known
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert [v["status"] for v in report["verdicts"]] == ["inconclusive"]
    row = next(f for f in report["input"]["files"] if f["kind"] == "memsql_log")
    assert 0 < row["lines"] < log.count(b"\n")
    assert any("truncated or corrupt compressed data" in w for w in report["warnings"])


# ------------------------------------------------------------------------- outputs


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["report.json"]


def test_overlap_warnings_only_for_the_same_node() -> None:
    t = pl.datetime_range(
        pl.datetime(2026, 1, 1), pl.datetime(2026, 1, 1, 5), "1h", eager=True, time_zone="UTC"
    ).to_list()
    files = pl.DataFrame(
        {
            "path": ["a.log", "a.log.1", "b.log", "c.log", "c.log.1"],
            "kind": ["memsql_log"] * 5,
            "node": ["a:1", "a:1", "b:1", "c:1", "c:1"],
            "first_ts": [t[2], t[0], t[0], t[0], t[1]],
            "last_ts": [t[4], t[3], t[5], t[1], t[2]],
            "skipped_reason": [None] * 5,
        }
    )
    warnings = overlap_warnings(files)
    assert len(warnings) == 1  # c.log.1 starts exactly when c.log ends: no overlap
    assert warnings[0].startswith("a.log: overlaps a.log.1 in time on node a:1")


# --------------------------------------------------------------- mutated real inputs

_REAL_LOG = next(FIXTURES.glob("copy_out_of_memory/*/tracelogs/memsql.log")).read_bytes()
_REAL_LINES = _REAL_LOG.splitlines(keepends=True)
_REAL_TABLES = [
    p.read_text(encoding="utf-8", errors="replace")
    for p in sorted([*FIXTURES.glob("*/sql/*.txt"), *FIXTURES.glob("*/captures/*.txt")])
]
_JUNK = [
    b"\x00",
    b"\r",
    b"\xff\xfe",
    b"\n",
    b"  ",
    b"\t",
    b"|",
    b"9999999999999999999999 ",
    b"2026-02-30 25:61:61.000   ERROR: ",
    "é".encode(),
    b"\x1b[31m",
]


@st.composite
def mutated_real_log(draw: st.DrawFn) -> bytes:
    start = draw(st.integers(0, len(_REAL_LINES) - 1))
    lines = list(_REAL_LINES[start : start + draw(st.integers(1, 60))])
    for _ in range(draw(st.integers(0, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["flip", "insert", "dup", "swap", "cut", "drop_nl", "reset"]))
        line = lines[i]
        if op == "flip" and line:
            pos = draw(st.integers(0, len(line) - 1))
            lines[i] = line[:pos] + bytes([draw(st.integers(0, 255))]) + line[pos + 1 :]
        elif op == "insert":
            pos = draw(st.integers(0, len(line)))
            lines[i] = line[:pos] + draw(st.sampled_from(_JUNK)) + line[pos:]
        elif op == "dup":
            lines.insert(i, line)
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "cut":
            lines[i] = line[: draw(st.integers(0, len(line)))]
        elif op == "drop_nl":
            lines[i] = line.rstrip(b"\n")
        else:  # uptime counter reset (a restart)
            lines[i] = re.sub(rb"^\d+", b"7", line)
    return b"".join(lines)


def _physical_lines(data: bytes) -> int:
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated_real_log(), piece=st.integers(1, 4096))
def test_mutated_real_tracelog_never_raises_and_lines_add_up(data: bytes, piece: int) -> None:
    chunks = [data[i : i + piece] for i in range(0, len(data), piece)]
    result = parse_tracelog(chunks, path="leaf.log", node="leaf:3306")
    assert result.lines == _physical_lines(data)
    assert result.lines == result.parsed_lines + result.continuation_lines + result.unparsed_lines
    assert result.counts.get_column("lines").sum() == result.lines
    assert result.events.schema == schemas.EVENTS
    assert all(w.startswith("leaf.log") for w in result.warnings)


@st.composite
def mutated_real_table(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(_REAL_TABLES))
    for _ in range(draw(st.integers(1, 5))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["cut", "delete", "insert", "crlf", "dup_line"]))
        if op == "cut":
            text = text[:pos]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 200)) :]
        elif op == "insert":
            text = (
                text[:pos]
                + draw(st.sampled_from(["|", "+---+", "\x00", "\ufffd", "\t", "\n"]))
                + text[pos:]
            )
        elif op == "crlf":
            text = text.replace("\n", "\r\n")
        else:
            lines = text.splitlines(keepends=True)
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                text = "".join([*lines[:i], lines[i], *lines[i:]])
    return text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_real_table())
def test_mutated_real_tables_never_raise(text: str) -> None:
    result = parse_tables(text, "sql/out.txt")
    assert 0 <= result.unparsed_lines <= max(result.lines, 1)
    assert all(w.startswith("sql/out.txt:") for w in result.warnings)


def _builtin_conditions() -> list[str]:
    out = []
    for path in sorted((ROOT / "forensics" / "rules" / "builtin").glob("*.toml")):
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        for rule in doc.get("rule", []) if isinstance(doc.get("rule"), list) else [doc]:
            out += [rule[k] for k in ("when",) if isinstance(rule.get(k), str)]
            follow = rule.get("followed_by")
            if isinstance(follow, dict) and isinstance(follow.get("when"), str):
                out.append(follow["when"])
    return out


_CONDITIONS = _builtin_conditions()
_EVENTS = parse_lines([line.decode("utf-8", "replace").rstrip("\n") for line in _REAL_LINES[:400]])


@st.composite
def mutated_condition(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(_CONDITIONS))
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(text)))
        piece = draw(
            st.sampled_from(
                [
                    "(",
                    ")",
                    " and ",
                    " or not ",
                    "/",
                    '"',
                    "~",
                    " in (",
                    ",",
                    "level",
                    " == ",
                    "3",
                    "\\",
                    "*",
                    "",
                    "[",
                    "?",
                ]
            )
        )
        cut = draw(st.integers(0, 3))
        text = text[:pos] + piece + text[pos + cut :]
    return text


@settings(max_examples=150, deadline=None)
@given(mutated_condition())
def test_mutated_real_conditions_parse_or_raise_rule_error(text: str) -> None:
    try:
        condition = parse_condition(text, path="r.toml", line=3)
    except RuleError as exc:
        assert str(exc).startswith("r.toml:")
        return
    _EVENTS.filter(condition.expr)  # what parses also runs


def test_builtin_conditions_were_found() -> None:
    assert len(_CONDITIONS) >= 20
    assert _EVENTS.height > 10


_ARCHIVES = sorted(p for p in FIXTURES.glob("*/*") if p.suffix in (".gz", ".tgz", ".zip", ".zst"))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(source=st.sampled_from(_ARCHIVES), seed=st.integers(0, 2**32 - 1), cut=st.booleans())
def test_mutated_real_archives_never_raise(
    source: Path, seed: int, cut: bool, tmp_path: Path
) -> None:
    data = bytearray(source.read_bytes())
    rng = random.Random(seed)
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    if cut:
        del data[rng.randrange(len(data)) :]
    target = tmp_path / f"m{seed}{''.join(source.suffixes)}"
    target.write_bytes(bytes(data))
    try:
        for item in iter_members([target]):
            if isinstance(item, Member):
                for _ in item.chunks(1 << 20):
                    pass
    except ForensicsError:
        pass  # a bound was hit: a clear message, not a crash
    finally:
        target.unlink()


def test_archives_to_mutate_exist() -> None:
    assert {p.suffix for p in _ARCHIVES} >= {".gz", ".zip", ".zst"}


def test_a_file_named_like_a_tracelog_that_is_not_read_is_a_warning(tmp_path: Path) -> None:
    """Its lines may hold the cause: a skipped row alone is easy to miss."""
    shutil.copytree(FIXTURES / "copy_out_of_memory", tmp_path / "b")
    odd = tmp_path / "b" / "10.0.1.14_3306" / "tracelogs" / "memsql.log.1"
    odd.write_text("Mar 10 02:00:30 leaf-4 memsqld[811]: error: disk full\n")
    result = run_cli(["analyze", str(tmp_path / "b"), "--format", "json"])
    report = json.loads(result.stdout)
    assert any("memsql.log.1: named like a tracelog" in w for w in report["warnings"]), report[
        "warnings"
    ]


@pytest.mark.parametrize("command", [["analyze", "--format", "json"], ["events"]])
def test_progress_bar_on_a_terminal_stderr_leaves_redirected_stdout_alone(
    command: list[str],
) -> None:
    """``forensics analyze b --format json > out.json`` typed at a terminal: the bar goes
    to the terminal (stderr); out.json gets what it gets with no terminal at all, byte
    for byte (no stray leading newline)."""
    import pty
    import subprocess

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "copy_out_of_memory"
    args = [str(Path(sys.executable).parent / "forensics"), command[0], str(fixture)]
    args += command[1:]
    master, slave = pty.openpty()
    try:
        at_terminal = subprocess.run(args, stdout=subprocess.PIPE, stderr=slave, timeout=300)
    finally:
        os.close(slave)
        os.close(master)
    piped = subprocess.run(args, capture_output=True, timeout=300)
    assert at_terminal.stdout[:1] not in (b"\n", b"\r", b"\x1b")
    assert at_terminal.stdout == piped.stdout
