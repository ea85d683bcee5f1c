"""Compression bombs and highly compressible logs (SPEC §9): a member that expands beyond
its codec's ratio bound is read no further, with a warning naming it, and the rest of the
bundle is analysed; only ``--max-bytes`` stops a run."""

from __future__ import annotations

import gzip
import json
import lzma
import shutil
from pathlib import Path

import pytest
import zstandard
from click.testing import CliRunner

from forensics import bundle
from forensics.bundle import Limits, Member, Skipped, iter_members
from forensics.cli import main
from forensics.errors import LimitExceeded

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FLOOR = 1024 * 1024  # the ratio floor in these tests (16 MB in a run): small inputs suffice


@pytest.fixture(autouse=True)
def _small_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle, "RATIO_FLOOR", FLOOR)


def _spam(lines: int) -> bytes:
    """A rotated log of one WARN line repeated every millisecond, as a retry loop writes
    it: xz compresses it more than 300x."""
    return b"".join(
        b"%011d 2026-02-10 00:%02d:%02d.%03d   WARN: Thread 115062: ReplicationManagement: "
        b"partition `orders_7` replica on 10.0.1.14:3306 is behind, retrying in 100 ms\n"
        % (97000000000 + i * 1000, i // 60000 % 60, i // 1000 % 60, i % 1000)
        for i in range(lines)
    )


def _bomb(size: int) -> bytes:
    """One valid log line, then blank lines: deflate's ~1000:1."""
    first = b"97000000000 2026-02-10 00:00:00.000   INFO: Thread 1: starting\n"
    return gzip.compress(first + b"\n" * size, mtime=0)


def _members(path: Path) -> dict[str, bytes | str]:
    """Path -> content read, or the reason(s) reported for it."""
    got: dict[str, bytes | str] = {}
    for item in iter_members([path]):
        if isinstance(item, Member):
            got[item.path] = item.read_all()
        else:
            assert isinstance(item, Skipped)
            got[item.path + "#reason"] = item.reason
    return got


def test_a_repetitive_xz_log_beyond_100x_is_read_whole(tmp_path: Path) -> None:
    data = _spam(20000)
    packed = lzma.compress(data, preset=6)
    assert len(data) > 100 * len(packed) and len(data) > 2 * FLOOR  # the repro's shape
    path = tmp_path / "memsql.log.1.xz"
    path.write_bytes(packed)
    got = _members(path)
    assert got == {"memsql.log.1.xz": data}


def test_a_gzip_bomb_is_read_no_further_than_the_bound(tmp_path: Path) -> None:
    path = tmp_path / "memsql.log.gz"
    path.write_bytes(_bomb(128 * FLOOR))
    items = iter_members([path])
    member = next(items)
    assert isinstance(member, Member)
    content = member.read_all()
    assert content.startswith(b"97000000000 2026-02-10")
    # past the floor, then within a few reads (the ratio is judged on the compressed
    # bytes consumed, fed 64 KB at a time): not the 128 MB it holds
    assert FLOOR < len(content) < 16 * FLOOR
    (note,) = list(items)
    assert isinstance(note, Skipped) and note.damaged_member
    assert "expands more than 100x" in note.reason and "read no further" in note.reason


def test_a_zstd_bomb_is_judged_on_what_was_consumed(tmp_path: Path) -> None:
    """A zstd bomb of a few KB stops near the floor, not at 1000x its whole size."""
    packed = zstandard.ZstdCompressor(level=19).compress(b"A" * (256 * FLOOR))
    path = tmp_path / "memsql.log.zst"
    path.write_bytes(packed)
    got = _members(path)
    assert len(got["memsql.log.zst"]) < 16 * FLOOR
    assert "expands more than 1000x" in str(got["memsql.log.zst#reason"])


def test_max_bytes_still_stops_the_run(tmp_path: Path) -> None:
    path = tmp_path / "memsql.log.gz"
    path.write_bytes(_bomb(8 * FLOOR))
    with pytest.raises(LimitExceeded, match="max-bytes"):
        _members_limited(path, Limits(max_bytes=FLOOR // 2))


def _members_limited(path: Path, limits: Limits) -> None:
    for item in iter_members([path], limits):
        if isinstance(item, Member):
            item.read_all()


def test_the_analysis_goes_on_past_a_bomb_and_a_repetitive_rotated_log(tmp_path: Path) -> None:
    """The probe's bundle: a failed copy (out of memory) with a 300x xz rotated log on one
    leaf and a gzip bomb on another: the verdict stands, the bomb is named in a warning,
    the xz log is read whole."""
    case = tmp_path / "copy_out_of_memory"
    shutil.copytree(FIXTURES / "copy_out_of_memory", case)
    spam = _spam(20000)
    (case / "10.0.1.14_3306/tracelogs/memsql.log.1.xz").write_bytes(lzma.compress(spam))
    (case / "10.0.1.13_3306/tracelogs/memsql.log.1.gz").write_bytes(_bomb(64 * FLOOR))
    result = CliRunner().invoke(main, ["analyze", str(case), "--format", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    verdicts = {v["database"]: (v["phase"], v["cause"]) for v in report["verdicts"]}
    assert verdicts["orders"] == ("copy", "out_of_memory")
    files = {f["path"].split("copy_out_of_memory/")[1]: f for f in report["input"]["files"]}
    xz = files["10.0.1.14_3306/tracelogs/memsql.log.1.xz"]
    assert xz["skipped_reason"] is None and xz["lines"] == 20000
    bomb = [w for w in report["warnings"] if "memsql.log.1.gz: expands more than 100x" in w]
    assert len(bomb) == 1 and "read no further" in bomb[0]
    assert not [w for w in report["warnings"] if ".xz: expands" in w]
