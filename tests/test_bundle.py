"""The bundle reader: every form of SPEC §2.1, streamed, with unsafe members skipped."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
from pathlib import Path

import pytest
import zstandard

from forensics import bundle
from forensics.bundle import Limits, Member, Skipped, iter_members
from forensics.errors import InputError, LimitExceeded

LOG = b"03650171 2022-09-30 16:01:43.926   INFO: Initializing cluster management.\n"


def _tar_bytes(files: dict[str, bytes], compress: str | None = None) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    data = raw.getvalue()
    if compress == "gz":
        return gzip.compress(data, mtime=0)
    if compress == "zst":
        return zstandard.ZstdCompressor().compress(data)
    return data


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return raw.getvalue()


def _read(paths: list[Path], limits: Limits | None = None) -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for item in iter_members(paths, limits):
        if isinstance(item, Member):
            out[item.inner] = item.read_all()
        else:
            assert isinstance(item, Skipped)
            out[item.inner or item.path] = f"SKIPPED: {item.reason}"
    return out


@pytest.mark.parametrize(
    "compress,suffix", [(None, ".tar"), ("gz", ".tar.gz"), ("zst", ".tar.zst")]
)
def test_tar_forms_stream_members(tmp_path: Path, compress: str | None, suffix: str) -> None:
    path = tmp_path / f"bundle{suffix}"
    path.write_bytes(_tar_bytes({"n1/memsql.log": LOG, "n2/status.txt": b"x"}, compress))
    assert _read([path]) == {"n1/memsql.log": LOG, "n2/status.txt": b"x"}


def test_zip_and_individually_compressed_members(tmp_path: Path) -> None:
    path = tmp_path / "bundle.zip"
    path.write_bytes(
        _zip_bytes(
            {
                "a/memsql.log.1.gz": gzip.compress(LOG, mtime=0),
                "b/memsql.log.zst": zstandard.ZstdCompressor().compress(LOG),
            }
        )
    )
    assert _read([path]) == {"a/memsql.log.1": LOG, "b/memsql.log": LOG}


def test_archives_nested_three_levels_are_followed_deeper_are_not(tmp_path: Path) -> None:
    # a ticket's zip > the collector's tarball > per-node archives: three levels are read
    inner = _zip_bytes({"leaf/memsql.log": LOG})
    per_node = _tar_bytes({"x.tar": _tar_bytes({"y/memsql.log": LOG})}, "gz")
    deeper = _tar_bytes({"a.tar": _tar_bytes({"b.tar": _tar_bytes({"z/memsql.log": LOG})})})
    path = tmp_path / "outer.tar.gz"
    path.write_bytes(
        _tar_bytes({"inner.zip": inner, "deep.tgz": per_node, "deeper.tar": deeper}, "gz")
    )
    got = _read([path])
    # (a nested archive is a folder of its name: a per-node archive names its node)
    assert got["inner/leaf/memsql.log"] == LOG
    assert got["deep/x/y/memsql.log"] == LOG
    assert str(got["deeper/a/b.tar"]).startswith("SKIPPED: archive nested deeper than 3")


def test_directory_sorted_and_symlinks_skipped(tmp_path: Path) -> None:
    root = tmp_path / "b"
    (root / "n2").mkdir(parents=True)
    (root / "n1").mkdir()
    (root / "n2" / "memsql.log").write_bytes(LOG)
    (root / "n1" / "memsql.log").write_bytes(LOG)
    (root / "link.log").symlink_to(root / "n1" / "memsql.log")
    items = list(iter_members([root]))
    assert [i.inner for i in items] == ["link.log", "n1/memsql.log", "n2/memsql.log"]
    assert isinstance(items[0], Skipped) and "link" in items[0].reason


def test_unsafe_tar_members_are_skipped_never_written(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name in ("../evil.log", "/etc/evil.log", "ok/memsql.log"):
            info = tarfile.TarInfo(name)
            info.size = len(LOG)
            tar.addfile(info, io.BytesIO(LOG))
        link = tarfile.TarInfo("ok/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
        dev = tarfile.TarInfo("ok/dev")
        dev.type = tarfile.CHRTYPE
        tar.addfile(dev)
    path = tmp_path / "evil.tar"
    path.write_bytes(raw.getvalue())
    got = _read([path])
    assert got["ok/memsql.log"] == LOG
    reasons = {k: v for k, v in got.items() if isinstance(v, str)}
    assert len(reasons) == 4
    assert not (tmp_path.parent / "evil.log").exists()


def test_gzip_bomb_stops_with_a_clear_limit(tmp_path: Path) -> None:
    path = tmp_path / "memsql.log.gz"
    path.write_bytes(gzip.compress(b"\0" * (8 * 1024 * 1024), mtime=0))
    with pytest.raises(LimitExceeded, match="max-bytes"):
        _read([path], Limits(max_bytes=1024 * 1024))


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        list(iter_members([tmp_path / "nope"]))


def test_head_does_not_consume(tmp_path: Path) -> None:
    path = tmp_path / "memsql.log"
    path.write_bytes(LOG * 3)
    members = iter_members([path])
    member = next(members)
    assert isinstance(member, Member)
    assert member.head() == LOG * 3
    assert member.read_all() == LOG * 3


@pytest.mark.parametrize("tail", [b"", b"2022-09-30 16:01:44.000   WARN: no newline at the end"])
def test_plain_files_are_mapped_in_line_aligned_views(tmp_path: Path, tail: bytes) -> None:
    content = LOG * 50 + b"x" * 300 + b"\n" + LOG * 20 + tail
    path = tmp_path / "memsql.log"
    path.write_bytes(content)
    members = iter_members([path])  # kept: the member's file closes with the walk
    member = next(members)
    assert isinstance(member, Member)
    member.head()  # sniffing first, as the loader does
    views = list(member.chunks(lines=1000))
    assert all(isinstance(v, memoryview) for v in views)
    assert b"".join(views) == content
    assert all(bytes(v).endswith(b"\n") for v in views[:-1])
    assert all(len(v) >= 1000 for v in views[:-1])


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_compressed_members_are_read_into_line_aligned_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    monkeypatch.setattr(bundle, "READ_SLACK", 64)
    long_line = b"2022-09-30 16:01:44.000   INFO: " + b"y" * 5000 + b"\n"  # longer than a buffer
    tail = b"2022-09-30 16:01:45.000   WARN: no newline"
    content = LOG * 2000 + long_line + LOG * 800 + tail  # (more than the sniffed head)
    compress = gzip.compress if suffix == ".gz" else zstandard.ZstdCompressor().compress
    path = tmp_path / f"memsql.log{suffix}"
    path.write_bytes(compress(content))
    members = iter_members([path])
    member = next(members)
    assert isinstance(member, Member)
    assert member.source_file() is None  # not the bytes of a file on disk
    member.head()  # sniffing first, as the loader does
    views = list(member.chunks(lines=100))
    assert b"".join(views) == content
    whole = [bytes(v) for v in views[:-1]]
    cut = [not v.endswith(b"\n") for v in whole]
    assert any(cut)  # the long line did not fit a buffer: whole buffers, no newline
    # the others end at a line end, at or after the target, but next to the long line
    near = [a or b for a, b in zip([False, *cut[:-1]], [*cut[1:], False], strict=True)]
    assert all(len(v) >= 100 for v, c, n in zip(whole, cut, near, strict=True) if not (c or n))
    assert sum(not c for c in cut) > 100


def test_gzip_members_inflate_like_the_gzip_module(tmp_path: Path) -> None:
    """Several gzip members in one file (as `cat a.gz b.gz` makes), large enough to need
    many feeds and output steps: the same bytes as the gzip module gives."""
    parts = [LOG * 20_000, b"", LOG[::-1] * 3 + b"\n", bytes(range(256)) * 9_000]
    path = tmp_path / "memsql.log.gz"
    path.write_bytes(b"".join(gzip.compress(p, mtime=0) for p in parts))
    members = iter_members([path])
    member = next(members)
    assert isinstance(member, Member)
    assert member.read_all() == gzip.decompress(path.read_bytes())


def test_gzip_with_a_bad_checksum_is_reported(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(LOG * 1000, mtime=0))
    data[-6] ^= 1  # the CRC-32 of the trailer
    path = tmp_path / "memsql.log.gz"
    path.write_bytes(bytes(data))
    out = _read([path])
    skipped = [v for v in out.values() if isinstance(v, str)]
    assert any("truncated or corrupt compressed data" in v for v in skipped), out


@pytest.mark.parametrize(("suffix", "compress"), [(".xz", lzma.compress), (".bz2", bz2.compress)])
def test_xz_and_bzip2_members_and_archives(tmp_path: Path, suffix: str, compress) -> None:
    """Rotated logs compressed with xz or bzip2, loose and as a compressed tarball."""
    (tmp_path / f"memsql.log.1{suffix}").write_bytes(compress(LOG * 50))
    (tmp_path / f"bundle.tar{suffix}").write_bytes(compress(_tar_bytes({"n/memsql.log": LOG})))
    out = _read([tmp_path / f"memsql.log.1{suffix}", tmp_path / f"bundle.tar{suffix}"])
    # (an archive given with other files is a folder of its name, as in a bundle's folder)
    assert out == {"memsql.log.1": LOG * 50, "bundle/n/memsql.log": LOG}


def test_corrupt_xz_is_reported_not_raised(tmp_path: Path) -> None:
    data = bytearray(lzma.compress(LOG * 1000))
    data[len(data) // 2] ^= 0xFF
    path = tmp_path / "memsql.log.xz"
    path.write_bytes(bytes(data))
    out = _read([path])
    assert any("corrupt" in v for v in out.values() if isinstance(v, str)), out
