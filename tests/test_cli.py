"""The real ``forensics`` process (SPEC §6.1 exit codes): one line on stderr, no traceback,
for every command; ``--debug`` shows the traceback; every command has help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from forensics.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).parent / "forensics"
GOOD = ROOT / "fixtures" / "broken" / "cases" / "script_injection"


def forensics(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "forensics.cli"]
    return subprocess.run([*command, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for name, command in sorted(group.commands.items()):
        out.append((*prefix, name))
        if isinstance(command, click.Group):
            out += _commands(command, (*prefix, name))
    return out


@pytest.mark.parametrize(
    "args",
    [
        ("analyze", "{missing}"),
        ("events", "{missing}", "--kind", "files"),
        ("scan", "{missing}", "-o", "{tmp}/s.parquet"),
        ("rules", "test", "{missing}"),
        # a report into a folder that does not exist: refused before any work
        ("analyze", str(GOOD), "--json", "{missing}/r.json"),
        ("scan", str(GOOD), "-o", "{missing}/s.parquet"),
    ],
    ids=["analyze", "events", "scan", "rules test", "analyze output", "scan output"],
)
def test_each_command_unusable_input_exit_2_one_line(args: tuple[str, ...], tmp_path: Path) -> None:
    places = {"missing": str(tmp_path / "nope"), "tmp": str(tmp_path)}
    done = forensics(*(a.format(**places) for a in args))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.startswith("forensics: ") and done.stderr.count("\n") == 1
    assert str(tmp_path / "nope") in done.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = forensics("--debug", "analyze", str(tmp_path / "nope"))
    assert done.returncode == 2
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.rstrip().endswith("no such file or directory")


def test_bomb_stops_in_a_real_process(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "fixtures" / "broken"))
    import generate_broken

    case = generate_broken.build("gzip_bomb", tmp_path)
    done = forensics("analyze", str(case), "--max-bytes", "2000000")
    assert done.returncode == 2, done.stderr
    assert "leaf1_3306/memsql.log.gz: decompressed input exceeds --max-bytes" in done.stderr
    assert "Traceback" not in done.stderr


def test_analyze_writes_every_output_and_nothing_else(tmp_path: Path) -> None:
    done = forensics(
        "analyze", str(GOOD), "--html", "r.html", "--json", "r.json", "--md", "r.md", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.json", "r.md"]


@pytest.mark.parametrize("command", _commands(main), ids=" ".join)
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output and len(result.output.splitlines()) > 3


def test_a_reader_that_stops_early_ends_the_output_quietly() -> None:
    """`forensics events BUNDLE | head -1`: no error message, the exit status of SIGPIPE."""
    command = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "forensics.cli"]
    bundle = ROOT / "fixtures" / "copy_kill_script"
    with subprocess.Popen(
        [*command, "events", str(bundle)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline()  # the output is far larger than the pipe's buffer
        proc.stdout.close()
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    assert err == ""
    assert code == 141


# --------------------------------------------------------------------------- --rules, --level

RULE = """\
[[rule]]
id = "USR01"
title = "user rule"
cause = "kill"
phases = ["copy"]
severity = "high"
when = 'message contains "xyz"'
explanation = "x"
remediation = "y"
[rule.examples]
match = ["12345678 2026-03-02 10:15:04.266  ERROR: Thread 1: abc"]
no_match = ["12345678 2026-03-02 10:15:04.266  ERROR: Thread 1: xyz"]
"""


def test_analyze_warns_of_a_user_rule_whose_examples_fail(tmp_path: Path) -> None:
    """The rule is used as asked, but the user hears once (stderr) and in the report."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "r.toml").write_text(RULE, encoding="utf-8")
    done = forensics("analyze", str(GOOD), "--rules", "mine", "--json", "r.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if "warning" in ln]
    assert len(lines) == 1
    assert lines[0].startswith("forensics: warning: mine/r.toml:11: rule USR01 fails 2 of its 2")
    warnings = json.loads((tmp_path / "r.json").read_text())["warnings"]
    assert lines[0].removeprefix("forensics: warning: ") in warnings


@pytest.mark.parametrize("command", [("rules", "test"), ("analyze", str(GOOD), "--rules")])
def test_a_rule_folder_without_rule_files_exits_2(tmp_path: Path, command: tuple[str, ...]) -> None:
    (tmp_path / "empty").mkdir()
    done = forensics(*command, "empty", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "forensics: empty: no rule files (*.toml) in this folder\n"


def test_rules_test_reads_an_upper_case_toml_suffix(tmp_path: Path) -> None:
    from forensics.rules import load_rules

    fixed = RULE.replace('"xyz"\'', '"abc"\'')
    (tmp_path / "drop.TOML").write_text(fixed, encoding="utf-8")
    done = forensics("rules", "test", str(tmp_path))
    assert done.returncode == 0, done.stdout
    # the built-ins' own run is test_rules_builtin's; counting them here saves a second run
    assert done.stdout.splitlines()[-1] == f"{len(list(load_rules())) + 1} passed, 0 failed"


def test_events_level_takes_the_level_words_of_the_log(tmp_path: Path) -> None:
    """FATAL is read as FAILURE (grammars/tracelog.toml [levels]); any case is accepted."""
    (tmp_path / "memsql.log").write_text(
        "12345678 2026-03-02 10:15:04.266   INFO: rebalance partition x\n"
        "12345679 2026-03-02 10:15:05.266  ERROR: Thread 1: boom\n"
        "12345680 2026-03-02 10:15:06.266  FATAL: Thread 1: dead\n",
        encoding="utf-8",
    )
    for word, rows in (("FATAL", 1), ("fatal", 1), ("Warning", 2), ("info", 3)):
        done = forensics("events", "memsql.log", "--level", word, "-o", "e.csv", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stderr == f"wrote {rows} rows to e.csv\n"
    done = forensics("events", "memsql.log", "--level", "loud", cwd=tmp_path)
    assert done.returncode == 2
    assert "unknown level 'loud'; use one of INFO, WARN, WARNING, ERROR, FAILURE, FATAL" in (
        done.stderr
    )


# --------------------------------------------------------------------------- figures


def test_storage_figure_escapes_a_database_name_in_its_legend() -> None:
    """Plotly draws a trace name as HTML: a database called <b>x</b> shows as written."""
    from types import SimpleNamespace

    from forensics.report import figures

    name = "<img src=x onerror=alert(1)>"
    impact = SimpleNamespace(
        to_json=lambda: {"databases": [{"database": name, "per_node_extra_bytes": {"n1": 2**30}}]}
    )
    fig = figures.extra_storage_figure(SimpleNamespace(impact=impact))  # type: ignore[arg-type]
    assert fig is not None
    assert [t.name for t in fig.data] == ["&lt;img src=x onerror=alert(1)&gt;"]
