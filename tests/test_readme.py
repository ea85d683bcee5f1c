"""Docs that cannot rot: every command has help and is in the README; README examples run."""

from __future__ import annotations

import itertools
import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from forensics.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: Options whose value is a file the command writes (not an input that must exist).
OUTPUT_OPTIONS = {"-o", "--output", "--html", "--json", "--md"}


def _commands(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path: ("analyze",), ("rules",), ("rules", "list") ..."""
    out = []
    for name, command in sorted(group.commands.items()):
        out.append((*prefix, name))
        if isinstance(command, click.Group):
            out += _commands(command, (*prefix, name))
    return out


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


COMMANDS = _commands()


def test_the_commands_are_known() -> None:
    assert {"analyze", "events", "scan", "rules", "rules list", "rules show", "rules test"} <= {
        " ".join(p) for p in COMMANDS
    }


@pytest.mark.parametrize("path", [(), *COMMANDS], ids=lambda p: " ".join(p) or "forensics")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    res = CliRunner().invoke(main, [*path, "--help"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("Usage: ")
    assert _command(path).help, f"forensics {' '.join(path)} has no docstring"


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_is_in_the_readme(path: tuple[str, ...]) -> None:
    # "forensics rules   list | show ID | test [DIR]" documents the three rules commands.
    head, *rest = path
    lines = [
        line
        for line in README.splitlines()
        if re.match(rf"\s*forensics\s+{re.escape(head)}\b", line)
    ]
    assert lines, f"README never shows 'forensics {head}'"
    if rest:
        assert any(re.search(rf"\b{re.escape(rest[0])}\b", line) for line in lines), path


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_option_is_in_the_readme(path: tuple[str, ...]) -> None:
    """Each option is shown in the README under one of its names (``-o`` for ``--output``)."""
    command = _command(path)
    missing = [
        param.opts[-1]
        for param in command.params
        if isinstance(param, click.Option)
        and param.name != "help"
        and not any(re.search(rf"(?<![\w-]){re.escape(opt)}\b", README) for opt in param.opts)
    ]
    assert missing == [], f"forensics {' '.join(path)}: options not in README: {missing}"


# --------------------------------------------------------------------------- examples


def _sh_lines() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    return [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip().startswith("forensics ")
    ]


def _runnable(line: str) -> list[str] | None:
    """The arguments of a README example that runs on files of this repository, else None
    (synopsis lines with placeholders, examples naming files that are not here)."""
    if re.search(r"[\[\]|]|\.\.\.", line):
        return None
    args = shlex.split(line)[1:]
    for previous, arg in zip(["", *args], args, strict=False):
        if arg.startswith("-") or previous in OUTPUT_OPTIONS:
            continue
        if ("/" in arg or "." in arg) and not (ROOT / arg).exists():
            return None
    return args


EXAMPLES = [line for line in _sh_lines() if _runnable(line) is not None]


def test_readme_has_runnable_examples() -> None:
    assert len(EXAMPLES) >= 4, EXAMPLES


@pytest.mark.slow
@pytest.mark.parametrize("line", EXAMPLES)
def test_readme_example_runs(line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inputs are read from the repository, outputs land in a temporary folder."""
    args = _runnable(line)
    assert args is not None
    absolute = [  # inputs from the repository; outputs stay relative (a `make demo` leaves
        # report.json in the repository, which must not be overwritten)
        str(ROOT / arg)
        if (ROOT / arg).exists() and not arg.startswith("-") and previous not in OUTPUT_OPTIONS
        else arg
        for previous, arg in zip(["", *args], args, strict=False)
    ]
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, absolute)
    assert res.exit_code in (0, 1), f"{line}\n{res.output[-2000:]}"
    for previous, arg in itertools.pairwise(args):
        if previous in OUTPUT_OPTIONS:
            assert (tmp_path / arg).stat().st_size > 0, f"{line}: {arg} not written"
