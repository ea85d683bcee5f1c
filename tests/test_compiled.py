"""The ahead-of-time build of the kernels computes what Numba's just-in-time kernels do,
and is what the parser loads when it exists."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_linescan import tracelog_lines

from forensics.cli import main
from forensics.parsers import compiled, linescan, tracelog

jit = pytest.importorskip("forensics.parsers._kernels", reason="Numba not installed")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def aot(tmp_path_factory: pytest.TempPathFactory):
    """The build of this installation (``make`` runs ``forensics warm-up``), else one
    made here (about 20 s)."""
    built = compiled.load()
    if built is None:
        base = tmp_path_factory.mktemp("cache")
        compiled.build(base)
        built = compiled.load(base)
    assert built is not None and built.source == "ahead-of-time"
    return built


def _same(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y)
        else:
            assert x == y


def _run_both(aot, data: bytes) -> None:
    raw = np.frombuffer(data, dtype=np.uint8)
    table = linescan._LevelTable.of(tracelog._layout().levels)
    args = (raw, table.words, table.lengths, table.codes)
    per_line = aot.lines(*args)
    _same(per_line, jit.lines(*args))
    ends, text_ends, kind, level, local_us, uptime, counter = per_line[:7]
    order = (kind == jit.PARSED, level, local_us, uptime, counter, table.size + 2, 10**6)
    _same(aot.order(*order), jit.order(*order))
    starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
    rows = np.flatnonzero(kind == jit.PARSED)
    _same(aot.gather(raw, starts, text_ends, rows), jit.gather(raw, starts, text_ends, rows))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(tracelog_lines(), min_size=1, max_size=40), crlf=st.booleans())
def test_same_results_as_the_just_in_time_kernels(aot, lines, crlf):
    _run_both(aot, ("\r\n" if crlf else "\n").join(lines).encode())


def test_same_results_on_a_fixture_log(aot):
    log = next(FIXTURES.glob("*/**/memsql.log"))
    _run_both(aot, log.read_bytes())


def test_the_parser_uses_the_build_without_importing_numba(aot, tmp_path):
    if compiled.load() is None:
        pytest.skip("no build in this installation's cache")
    code = (
        "import sys; from forensics.parsers import linescan; "
        "print(linescan.kernels().source, 'numba' in sys.modules)"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["ahead-of-time", "False"]


def test_warm_up_reports_where_the_build_is(aot):
    if compiled.load() is None:
        pytest.skip("no build in this installation's cache")
    result = CliRunner().invoke(main, ["warm-up"])
    assert result.exit_code == 0
    assert "fast path compiled in" in result.output


def test_the_key_follows_the_kernels_source(monkeypatch, tmp_path):
    before = compiled.key()
    source = tmp_path / "_kernels.py"
    source.write_text((compiled._HERE / "_kernels.py").read_text() + "\n# changed\n")
    monkeypatch.setattr(compiled, "_HERE", tmp_path)
    for name in ("_codes.py", "compiled.py"):
        (tmp_path / name).write_bytes((Path(compiled.__file__).parent / name).read_bytes())
    assert compiled.key() != before
    assert compiled.load(tmp_path) is None  # nothing built for that source


def test_warm_up_names_the_problem_when_it_cannot_build(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("FORENSICS_CACHE_DIR", str(blocker / "cache"))
    result = CliRunner().invoke(main, ["warm-up"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("forensics: cannot compile the fast path:")


def test_warm_up_for_loads_the_fast_path_only_for_large_inputs(monkeypatch, tmp_path):
    log = tmp_path / "memsql.log"
    log.write_bytes(b"1 2026-01-01 00:00:00.000   INFO: partition db:1 copy\n" * 100)
    assert not tracelog.warm_up_for([tmp_path])  # 5 kB: the Polars path will be used
    monkeypatch.setattr(tracelog, "fast_min_bytes", lambda: 1024)
    assert tracelog.warm_up_for([tmp_path]) and tracelog.warm_up_for([log])
    assert not tracelog.warm_up_for([tmp_path / "missing"])  # reported by the loader
