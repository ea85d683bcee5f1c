"""The Hyperscan helper process: its answers are the lines the parser would find itself,
and anything wrong with it (a changed file, a dead helper, an answer that does not fit)
makes the parser scan the piece itself."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
from polars.testing import assert_frame_equal

from forensics import load_bundle
from forensics.parsers import layout, linescan, prefilter, tracelog

pytestmark = pytest.mark.skipif(
    not linescan.available(tracelog._layout().vocabulary), reason="Hyperscan not installed"
)

LAY = tracelog._layout()
WORDS, EXACT = LAY.vocabulary, LAY.keep_words


@pytest.fixture(autouse=True)
def _no_helper_left():
    yield
    prefilter.stop()


def _log(n: int, *, terminated: bool = True) -> bytes:
    """A tracelog of n lines: routine INFO noise, kept lines of every kind, an INFO line
    holding only a level literal, CRLF lines and wrapped continuation lines."""
    kinds = [
        "INFO: Thread 115175: Heartbeat: node answered in 0.588 ms",
        "INFO: Thread 9: COPY PARTITION orders:{i} ON 10.0.1.12:3306 started",
        "WARN: Thread 3: slow reply from peer",
        "INFO: peer said WARN: nothing to see",
        "ERROR: Thread 4: lock wait timeout exceeded\r",
        "INFO: Query app.'SELECT 1' submitted",
        "  at backtrace frame {i} partition",
        "FATAL: out of MEMORY",
    ]
    lines = [
        f"{1000 + i} 2026-02-11 01:{i // 3600 % 60:02d}:{i // 60 % 60:02d}.{i % 1000:03d}   "
        + kinds[i % len(kinds)].format(i=i)
        if not kinds[i % len(kinds)].startswith(" ")
        else kinds[i % len(kinds)].format(i=i)
        for i in range(n)
    ]
    return ("\n".join(lines) + ("\n" if terminated else "")).encode()


def _pieces(data: bytes, sizes: list[int]) -> list[tuple[int, int]]:
    """Line-aligned [start, end) ranges of about the given sizes, covering ``data``."""
    out, start, k = [], 0, 0
    while start < len(data):
        end = min(len(data), start + sizes[k % len(sizes)])
        if end < len(data):
            newline = data.find(b"\n", end - 1)
            end = len(data) if newline < 0 else newline + 1
        out.append((start, end))
        start, k = end, k + 1
    return out


def _expected(data: bytes) -> np.ndarray:
    vocab = linescan.vocabulary(WORDS, EXACT)
    assert vocab is not None
    return vocab.newlines(data if data.endswith(b"\n") else data + b"\n")


def _ident(path: Path) -> prefilter.Ident:
    fd = os.open(path, os.O_RDONLY)
    try:
        return prefilter.ident_of(fd)
    finally:
        os.close(fd)


@pytest.mark.parametrize("read_ahead", [False, True], ids=["on request", "read ahead"])
@pytest.mark.parametrize("terminated", [True, False])
def test_the_helper_answers_the_lines_the_piece_scan_finds(tmp_path, read_ahead, terminated):
    data = _log(3000, terminated=terminated)
    path = tmp_path / "memsql.log"
    path.write_bytes(data)
    paths = [str(tmp_path)] if read_ahead else []
    helper = prefilter.Prefilter(WORDS, EXACT, paths, block=5000, min_bytes=0)
    try:
        pieces = _pieces(data, [7000, 1, 30000, 4096])
        futures = [helper.request(str(path), _ident(path), a, b) for a, b in pieces]
        for (a, b), future in zip(pieces, futures, strict=True):
            hits = future.result(timeout=30)
            assert hits is not None
            np.testing.assert_array_equal(hits, _expected(data[a:b]))
            assert prefilter.usable(hits, np.frombuffer(data[a:b], dtype=np.uint8))
    finally:
        helper.close()


def test_a_file_changed_since_it_was_opened_gets_no_answer(tmp_path):
    path = tmp_path / "memsql.log"
    path.write_bytes(_log(100))
    dev, ino, size, mtime = _ident(path)
    helper = prefilter.Prefilter(WORDS, EXACT, [], block=4096, min_bytes=0)
    try:
        assert helper.request(str(path), (dev, ino, size + 1, mtime), 0, size).result(30) is None
        assert helper.request(str(path), (dev, ino, size, mtime), 0, size).result(30) is not None
    finally:
        helper.close()


def test_a_helper_that_died_answers_none(tmp_path):
    path = tmp_path / "memsql.log"
    path.write_bytes(_log(100))
    helper = prefilter.Prefilter(WORDS, EXACT, [], block=4096, min_bytes=0)
    helper._proc.kill()
    helper._proc.wait()
    assert helper.request(str(path), _ident(path), 0, 10).result(timeout=30) is None
    helper.close()


def test_an_answer_that_does_not_fit_the_piece_is_not_used():
    data = np.frombuffer(b"a error\nb\nc lock", dtype=np.uint8)
    assert prefilter.usable(np.array([7, 16]), data)  # (16: the end, no final newline)
    assert prefilter.usable(np.array([], dtype=np.int64), data)
    assert not prefilter.usable(None, data)
    assert not prefilter.usable(np.array([6]), data)  # not a newline
    assert not prefilter.usable(np.array([9, 7]), data)  # not increasing
    assert not prefilter.usable(np.array([17]), data)  # past the end
    terminated = np.frombuffer(b"a error\n", dtype=np.uint8)
    assert not prefilter.usable(np.array([8]), terminated)  # the end of a terminated piece


def _bundle(tmp_path: Path) -> Path:
    """A bundle with one tracelog big enough for the compiled fast path (several pieces)."""
    logs = tmp_path / "bundle" / "10.0.1.12_3306" / "tracelogs"
    logs.mkdir(parents=True)
    data = _log(5000)
    while len(data) < 2 * LAY.fast_min_bytes + 1000:
        data += _log(5000)
    (logs / "memsql.log").write_bytes(data)
    return tmp_path / "bundle"


@pytest.mark.parametrize("lean", [False, True], ids=["analyze", "scan"])
def test_load_bundle_with_the_helper_gives_the_same_events(tmp_path, monkeypatch, lean):
    root = _bundle(tmp_path)
    monkeypatch.setenv("FORENSICS_PREFILTER", "0")
    alone = load_bundle(root, lean=lean)

    monkeypatch.setenv("FORENSICS_PREFILTER", "1")
    small = dataclasses.replace(LAY, helper_min_bytes=0, chunk_bytes=LAY.fast_min_bytes)
    monkeypatch.setattr(layout, "layout", lambda: small)
    monkeypatch.setattr(tracelog, "_layout", lambda: small)
    answered = []
    real_usable = prefilter.usable

    def spy(hits, data):
        answered.append(real_usable(hits, data))
        return answered[-1]

    monkeypatch.setattr(prefilter, "usable", spy)
    helped = load_bundle(root, lean=lean)

    assert len(answered) >= 2 and all(answered)  # every large piece had the helper's answer
    assert_frame_equal(helped.events, alone.events)
    assert_frame_equal(helped.line_counts, alone.line_counts)
    assert helped.events.filter(helped.events["message"].str.contains("peer said")).height == 0


def test_the_helper_reads_ahead_as_many_files_as_the_loader_reads_and_forgets_the_rest(tmp_path):
    logs = []
    for name in ("a", "b", "c", "d"):
        path = tmp_path / name / "memsql.log"
        path.parent.mkdir()
        path.write_bytes(_log(300))
        logs.append(str(path))
    (tmp_path / "e.log.gz").write_bytes(b"\x1f\x8b" + _log(300))  # compressed: not read
    (tmp_path / "notes.txt").write_bytes(b"not a tracelog\n" * 500)
    helper = prefilter._Helper(
        {
            "words": WORDS,
            "exact": EXACT,
            "paths": [str(tmp_path)],
            "block": 4096,
            "min_bytes": 0,
            "files": 2,  # (as a loader that reads two files at once)
        }
    )
    steps = 0
    while helper.read_ahead():
        steps += 1
    assert steps > 2 and sorted(helper.files) == logs[:2]  # both read to the end, then idle
    assert all(log.done for log in helper.files.values())

    size = Path(logs[2]).stat().st_size
    hits = helper.answer(
        {"id": 1, "path": logs[2], "ident": _ident(Path(logs[2])), "start": 0, "end": size}
    )
    np.testing.assert_array_equal(hits, _expected(Path(logs[2]).read_bytes()))
    assert logs[0] in helper.finished and logs[2] in helper.finished  # left behind; read
    while helper.read_ahead():
        pass
    assert sorted(helper.files) == [logs[1], logs[3]]


def test_a_log_cut_short_while_read_is_an_error_not_a_wrong_answer(tmp_path):
    data = _log(3000)
    path = tmp_path / "memsql.log"
    path.write_bytes(data)
    vocab = linescan.vocabulary(WORDS, EXACT)
    assert vocab is not None
    log = prefilter._File(str(path), 4096)
    try:
        log.advance(vocab.ends, None)  # one block
        assert 0 < log.covered < len(data)
        with path.open("r+b") as fh:  # truncated in place: same file, fewer bytes
            fh.truncate(log.covered + 10)
        with pytest.raises(OSError, match="shorter than when it was opened"):
            log.advance(vocab.ends, len(data))
    finally:
        log.close()


def test_the_helper_starts_only_when_it_can_pay_off(tmp_path, monkeypatch):
    root = tmp_path / "bundle"
    root.mkdir()
    (root / "memsql.log").write_bytes(_log(200))
    (root / "big.log.gz").write_bytes(b"\x1f\x8b" + b"\0" * 5000)  # compressed: not counted
    assert prefilter.start([root]) is None  # far below helper_min_bytes

    size = (root / "memsql.log").stat().st_size
    small = dataclasses.replace(LAY, helper_min_bytes=size)
    monkeypatch.setattr(layout, "layout", lambda: small)
    monkeypatch.setenv("FORENSICS_PREFILTER", "0")
    assert prefilter.start([root]) is None  # turned off
    monkeypatch.delenv("FORENSICS_PREFILTER")

    def no_process(*args, **kwargs):
        raise OSError("no more processes")

    monkeypatch.setattr(prefilter.subprocess, "Popen", no_process)
    assert prefilter.start([root]) is None  # the parser scans every piece itself
    monkeypatch.undo()
    monkeypatch.setattr(layout, "layout", lambda: small)
    helper = prefilter.start([root])
    assert helper is not None and helper.alive
    assert prefilter.start([root]) is helper  # one helper, told about more inputs


def test_looking_at_the_inputs_does_not_open_fifos_or_follow_links(tmp_path):
    root = tmp_path / "bundle"
    root.mkdir()
    os.mkfifo(root / "pipe")  # opening it for reading would wait for a writer
    (root / "link").symlink_to(tmp_path / "elsewhere")
    (root / "memsql.log").write_bytes(_log(50))
    size = (root / "memsql.log").stat().st_size
    assert prefilter._plain_bytes([root], 1 << 30) == size
