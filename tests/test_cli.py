"""The real ``forensics`` process (SPEC §6.1 exit codes): one line on stderr, no traceback,
for every command; ``--debug`` shows the traceback; every command has help."""

from __future__ import annotations

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
