"""Open a support bundle as a stream of members, whatever its form (SPEC §2.1).

A bundle is a directory, an archive (``.tar``, ``.tar.gz``/``.tgz``, ``.tar.zst``, ``.zip``),
a single file, or several of these. Compression and archive formats are recognised by
their magic bytes, never by name. Nothing is extracted to disk: tar archives are read as
streams, so each yielded :class:`Member` must be consumed before the next one is asked for.

Unsafe or unreadable members (links, devices, ``..`` paths, archives nested too deep,
encrypted zips, 7z and rar archives) are yielded as :class:`Skipped` with a reason, never
silently dropped. A link the user names on the command line is followed; a link inside a
bundle (to a file or a folder) never is. Damage found while a member is read (a cut gzip
or zstd stream) is reported after it, marked ``damaged_member``; so is a compressed member
read no further because it expands beyond its codec's ratio bound (a compression bomb, or a
very repetitive log). Only ``--max-bytes`` (decompressed bytes of the whole run) stops a run.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import mmap
import os
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO, cast

import zstandard

from .errors import InputError, LimitExceeded

HEAD_BYTES = 64 * 1024
CHUNK_BYTES = 4 * 1024 * 1024
MAPPED_BEHIND = 4  # views of a mapped file kept resident after they were given out
DEFAULT_MAX_BYTES = 32 * 1024**3  # decompressed bytes per run; bombs stop here
# The bundle archive, one nested archive (SPEC §2.1) and one more: a ticket's zip holding the
# collector's tarball of per-node archives is three levels. Bombs are bounded by bytes.
MAX_ARCHIVE_DEPTH = 3
MAX_LAYERS = (
    4  # compression layers along one path (.tar.gz > .zip > .log.gz); a gzip quine stops here
)
# A compressed member expanding more than its codec's bound is read no further: what came
# before is used and a warning says the rest was not read (SPEC §9: the rest of the bundle
# is still analysed; only --max-bytes stops a run). Deflate (gzip, zip) cannot exceed
# about 1030x, so its bound must stay well below that to stop a gzip bomb early (Apache
# POI's zip guard uses the same 1:100); real tracelogs give about 10-30x with it. xz, zstd
# and bzip2 exceed 100x on repetitive real logs (one WARN line repeated with its
# timestamp changing: xz -9 114x, zstd -19 95x, bzip2 81x), while their bombs reach
# 10,000x and more, so theirs is higher.
MAX_RATIO = 100  # deflate (gzip, zip)
DENSE_RATIO = 1000  # xz, zstd, bzip2 (and zip members compressed with them)
RATIO_FLOOR = 16 * 1024**2  # the ratio is judged only after this many bytes (small files vary)
# What a damaged stream raises while it is read: truncated or corrupt compressed data,
# bad zip CRC, a tar cut short, an I/O error. Never LimitExceeded (--max-bytes stops the run).
try:  # ISA-L inflates about three times as fast as zlib, with the same results
    from isal import isal_zlib as _isal_zlib

    _GZIP_ERRORS: tuple[type[BaseException], ...] = (cast(type[Exception], _isal_zlib.error),)
except ImportError:  # pragma: no cover - depends on the platform's wheels
    _isal_zlib = None  # type: ignore[assignment]
    _GZIP_ERRORS = ()
_GZIP_WBITS = 31  # a gzip header and trailer around deflate data
INFLATE_OUT = 1 << 20  # bytes of output taken from the inflater at a time

DATA_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    zlib.error,
    *_GZIP_ERRORS,
    zstandard.ZstdError,
    lzma.LZMAError,
    zipfile.BadZipFile,
    tarfile.TarError,
)
ZIP_OPEN_ERRORS: tuple[type[BaseException], ...] = (*DATA_ERRORS, ValueError)
ZIP_MEMBER_ERRORS: tuple[type[BaseException], ...] = (
    *DATA_ERRORS,
    NotImplementedError,
    RuntimeError,
    ValueError,  # (a member's offset before the archive's start: "negative seek value")
)

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZIP_MAGIC = b"PK\x03\x04"
XZ_MAGIC = b"\xfd7zXZ\x00"
BZIP2_MAGIC = b"BZh"
ZIP_EMPTY_MAGIC = b"PK\x05\x06"
#: Archive formats the standard library cannot read: recognised to say so, not read.
UNSUPPORTED_ARCHIVES = {b"7z\xbc\xaf\x27\x1c": "7z", b"Rar!\x1a\x07": "rar"}
ZIP_ENCRYPTED = 0x1  # general purpose flag bit: the member is encrypted
ZIP_FILE, ZIP_DIR, ZIP_LINK = 0o100000, 0o040000, 0o120000  # st_mode types in external_attr
MEMBER_PIECE = 64 * 1024  # read size inside tar/zip members: what a damaged read may lose
ZSTD_READ = 16 * 1024  # compressed bytes a zstd reader takes at a time
NESTED_ZIP_BYTES = 1024**3  # a zip inside a stream is read into memory; larger ones are skipped


@dataclass
class Limits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = MAX_ARCHIVE_DEPTH
    used_bytes: int = 0

    def charge(self, n: int, path: str) -> None:
        self.used_bytes += n
        if self.used_bytes > self.max_bytes:
            raise LimitExceeded(
                f"decompressed input exceeds --max-bytes ({self.max_bytes:,} bytes); "
                "a compression bomb or a larger bundle than allowed",
                path,
            )


class _Guarded(io.RawIOBase):
    """A read-only stream that turns damage (truncation, bad CRC, corrupt data) into an end
    of stream, remembering what went wrong so the walker can report it after the member
    was read: the bytes before the damage are still used (a cut log is still a log)."""

    def __init__(self, inner: IO[bytes], piece: int = 1 << 30) -> None:
        self._inner = inner
        self._piece = piece  # archive readers lose a whole request at the damage: keep it small
        # read1 makes at most one read below: a short read before the damage is kept
        # instead of being lost with the exception of a read that wanted more. readinto1,
        # where there is one, does the same straight into the caller's buffer (a copy less
        # of every decompressed byte).
        self._read = getattr(inner, "read1", inner.read)
        self._read_into = getattr(inner, "readinto1", None)
        self.error: str | None = None
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.error is not None:
            return 0
        try:
            if self._read_into is not None:
                n = self._read_into(memoryview(buffer)[: self._piece]) or 0
            else:
                data = self._read(min(len(buffer), self._piece))
                n = len(data)
                buffer[:n] = data
        except DATA_ERRORS as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return 0
        self.bytes_read += n
        self._charge(n)
        return n

    def _charge(self, n: int) -> None:
        """Hook for subclasses that bound what is read."""

    def damage(self, what: str) -> str | None:
        """The skip reason to report for this stream, if it was damaged."""
        if self.error is None:
            return None
        return (
            f"{what} after {self.bytes_read:,} bytes ({self.error}); "
            "the part before the damage was read"
        )


class _Counted(_Guarded):
    """A guarded stream that charges every byte read against the run's limits, and ends
    early (keeping what was read) when it expands more than ``ratio`` times the
    compressed bytes consumed so far (``compressed()``): judged as it goes, a bomb costs
    a read of about :data:`RATIO_FLOOR` bytes, not the whole run, however large."""

    def __init__(
        self,
        inner: IO[bytes],
        limits: Limits,
        path: str,
        compressed: Callable[[], int],
        piece: int = 1 << 30,
        ratio: int = MAX_RATIO,
    ) -> None:
        super().__init__(inner, piece)
        self._limits = limits
        self._path = path
        self._compressed = compressed
        self._ratio = ratio
        self.expanded: str | None = None  # why reading stopped early, if it did

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.expanded is not None:
            return 0
        return super().readinto(buffer)

    def _charge(self, n: int) -> None:
        self._limits.charge(n, self._path)  # (LimitExceeded: --max-bytes stops the run)
        read = self.bytes_read
        if read <= RATIO_FLOOR:
            return
        compressed = self._compressed()
        if compressed and read > self._ratio * compressed:
            self.expanded = (
                f"expands more than {self._ratio}x its compressed size (its first "
                f"{compressed:,} compressed bytes gave over {read:,}): read no further, as "
                f"a compression bomb would be; the first {read:,} bytes were used"
            )

    def problems(self, what: str) -> list[str]:
        """The skip reasons to report for this stream: read no further, damaged."""
        damage = self.damage(what)
        return [r for r in (self.expanded, damage) if r is not None]


class _Tally(io.RawIOBase):
    """A compressed stream passed through to its decompressor, counting the bytes the
    decompressor took: how much of the input its output so far came from."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def taken(self) -> int:
        return self.count


def _codec(
    head: bytes,
) -> tuple[Callable[[BinaryIO], IO[bytes]], tuple[str, ...], int] | None:
    """For a compressed stream (told by its magic bytes): its decompressing reader, the
    file name suffixes it adds, and its ratio bound (:data:`MAX_RATIO`)."""
    if head.startswith(GZIP_MAGIC):
        return _gunzip, (".gz", ".tgz"), MAX_RATIO
    if head.startswith(ZSTD_MAGIC):
        return _unzstd, (".zst", ".zstd", ".tzst"), DENSE_RATIO
    if head.startswith(XZ_MAGIC):
        return _unxz, (".xz", ".txz"), DENSE_RATIO
    if head.startswith(BZIP2_MAGIC) and head[3:4].isdigit():
        return _bunzip2, (".bz2", ".tbz2", ".tbz"), DENSE_RATIO
    return None


@dataclass
class Member:
    """One file of the bundle, decompressed, readable once as a stream."""

    path: str  # display path: input name, then the path inside archives, '/'-joined
    inner: str  # path relative to the bundle root (node identity is read from it)
    stream: BinaryIO
    compressed_size: int | None = None
    _head: bytes | None = field(default=None, repr=False)

    def head(self) -> bytes:
        """The first bytes (for sniffing); reading them does not consume the stream."""
        if self._head is None:
            self._head = _read_up_to(self.stream, HEAD_BYTES)
        return self._head

    def chunks(
        self, size: int = CHUNK_BYTES, *, lines: int | None = None
    ) -> Iterator[bytes | memoryview]:
        """The whole content in chunks, starting with the sniffed head.

        With ``lines``, a plain file on disk is memory-mapped instead of read: the chunks
        are read-only views of about ``lines`` bytes, each ending at a newline (or at the
        end of the file). Nothing is copied and no buffer is allocated, which matters for
        gigabyte logs. Compressed or archived members are then read straight into
        buffers of about that size, also cut after a newline (:func:`_read_views`)."""
        mapped = self._mapped() if lines else None
        if mapped is not None:
            yield from _aligned_views(mapped, lines or size)
            return
        if lines and hasattr(self.stream, "readinto"):
            yield from _read_views(self.head(), self.stream, lines)
            return
        head = self.head()
        if head:
            yield head
        while True:
            data = self.stream.read(size)
            if not data:
                return
            yield data

    def read_all(self) -> bytes:
        return b"".join(self.chunks())

    def source_file(self) -> tuple[str, tuple[int, int, int, int]] | None:
        """For a plain file on disk (its bytes are the member's, from offset 0): its path
        and identity (device, inode, size, mtime in ns); None for anything else."""
        raw = self.stream
        if not (isinstance(raw, io.BufferedReader) and isinstance(raw.raw, io.FileIO)):
            return None
        name = raw.raw.name
        if not isinstance(name, str):
            return None
        try:
            st = os.fstat(raw.fileno())
        except OSError:
            return None
        return os.path.abspath(name), (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def _mapped(self) -> mmap.mmap | None:
        raw = self.stream
        if not (isinstance(raw, io.BufferedReader) and isinstance(raw.raw, io.FileIO)):
            return None
        try:
            if os.fstat(raw.fileno()).st_size == 0:
                return None
            mapped = mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # not mappable (a pipe, a special file): read it
            return None
        if hasattr(mapped, "madvise"):
            mapped.madvise(mmap.MADV_SEQUENTIAL)
        return mapped


def _aligned_views(mapped: mmap.mmap, target: int) -> Iterator[memoryview]:
    """Views of ``mapped`` of about ``target`` bytes that end just after a newline.

    The pages of views given out :data:`MAPPED_BEHIND` views ago are dropped from the
    process (``MADV_DONTNEED``): a parser keeps only a few pieces in flight, and a page
    touched again after that is simply read again from the page cache. So a mapped log
    does not count in full against the process's resident memory."""
    view = memoryview(mapped)
    start, end_of_file = 0, len(mapped)
    given: list[tuple[int, int]] = []
    while start < end_of_file:
        end = start + target
        if end < end_of_file:
            newline = mapped.find(b"\n", end - 1)
            end = end_of_file if newline < 0 else newline + 1
        end = min(end, end_of_file)
        yield view[start:end]
        given.append((start, end))
        if len(given) > MAPPED_BEHIND:
            _drop(mapped, *given.pop(0))
        start = end


def _read_views(first: bytes, stream: BinaryIO, target: int) -> Iterator[memoryview]:
    """``first`` then the rest of ``stream``, as views that end just after a newline (the
    last one at the end of the stream), each read straight into a buffer of its own, of
    ``target`` + :data:`READ_SLACK` bytes: nothing is copied but the part line carried over
    to the next buffer. A view is at least ``target`` bytes long when a newline follows
    that far into its buffer; a buffer without any newline (a line longer than the
    buffer) is given whole."""
    import numpy as np  # (an uninitialised buffer: nothing to zero before it is read into)

    carry = first
    while True:
        buffer = np.empty(max(target + READ_SLACK, 2 * len(carry)), dtype=np.uint8)
        view = buffer.data
        n = len(carry)
        view[:n] = carry
        while n < len(view):
            got = stream.readinto(view[n:])  # type: ignore[attr-defined]
            if not got:
                break
            n += got
        if n < len(view):  # the end of the stream
            if n:
                yield view[:n]
            return
        cut = last_line_end(view)
        if cut == 0:  # no newline in the whole buffer: one very long line
            cut = n
        carry = bytes(view[cut:n])
        yield view[:cut]


READ_SLACK = 1024 * 1024  # bytes read beyond the target to find a newline after it


def last_line_end(chunk: bytes | memoryview) -> int:
    """Offset just after the last newline of ``chunk`` (0 when there is none)."""
    if isinstance(chunk, bytes):
        return chunk.rfind(b"\n") + 1
    end = len(chunk)
    while end > 0:  # a view has no rfind: copy its tail, a window at a time, not all of it
        start = max(0, end - _TAIL_WINDOW)
        found = bytes(chunk[start:end]).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        end = start
    return 0


_TAIL_WINDOW = 64 * 1024


def _drop(mapped: mmap.mmap, start: int, end: int) -> None:
    page = mmap.PAGESIZE
    first = -(-start // page) * page  # whole pages only
    if hasattr(mmap, "MADV_DONTNEED") and end > first:
        mapped.madvise(mmap.MADV_DONTNEED, first, end - first)


@dataclass(frozen=True)
class Skipped:
    path: str
    inner: str
    reason: str
    # True when this reports damage found while the member just yielded under the same
    # path was read: its part before the damage was used, so this is a warning about
    # that file, not a file of its own
    damaged_member: bool = False


def _gunzip(stream: BinaryIO) -> IO[bytes]:
    """A decompressing reader of a gzip stream (several members are read in turn)."""
    if _isal_zlib is not None:
        return cast(IO[bytes], _Inflate(stream))
    return gzip.GzipFile(fileobj=stream)


def _unzstd(stream: BinaryIO) -> IO[bytes]:
    """A decompressing reader of a zstd stream (several frames are read in turn)."""
    return cast(IO[bytes], _Unzstd(stream))


class _ZstdFrames:
    """A zstd stream passed through unchanged while its frame structure is followed
    (frame headers and block sizes only, nothing is decompressed), so that a stream cut
    inside a frame can be told from a complete one: the zstandard reader just stops at
    the cut, where gzip, xz and bzip2 raise."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._want = 4  # bytes of the next header to gather
        self._gathered = b""
        self._skip = 0  # bytes of content to pass before that header
        self._state = self._magic
        self._checksum = False
        self.unknown = False  # not a zstd structure we know: zstandard will judge it
        self.ended = False

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if not data:
            self.ended = True
        elif not self.unknown:
            self._follow(memoryview(data))
        return data

    @property
    def complete(self) -> bool:
        """Whether the stream so far ends at a frame boundary."""
        at_boundary = self._state == self._magic and not self._gathered and not self._skip
        return self.unknown or at_boundary

    def _follow(self, data: memoryview) -> None:
        i = 0
        while i < len(data) and not self.unknown:
            if self._skip:
                step = min(self._skip, len(data) - i)
                self._skip -= step
                i += step
                continue
            step = min(self._want - len(self._gathered), len(data) - i)
            self._gathered += bytes(data[i : i + step])
            i += step
            if len(self._gathered) == self._want:
                header, self._gathered = self._gathered, b""
                self._state(header)

    def _magic(self, header: bytes) -> None:
        if header == ZSTD_MAGIC:
            self._want, self._state = 1, self._descriptor
        elif header[0] & 0xF0 == 0x50 and header[1:] == b"\x2a\x4d\x18":  # skippable
            self._want, self._state = 4, self._skippable
        else:
            self.unknown = True

    def _skippable(self, header: bytes) -> None:
        self._skip = int.from_bytes(header, "little")
        self._want, self._state = 4, self._magic

    def _descriptor(self, header: bytes) -> None:
        fhd = header[0]
        single_segment = bool(fhd & 0x20)
        self._checksum = bool(fhd & 0x04)
        dictionary = (0, 1, 2, 4)[fhd & 0x03]
        content_size = (1 if single_segment else 0, 2, 4, 8)[fhd >> 6]
        self._skip = (0 if single_segment else 1) + dictionary + content_size
        self._want, self._state = 3, self._block

    def _block(self, header: bytes) -> None:
        value = int.from_bytes(header, "little")
        last, kind, size = value & 1, (value >> 1) & 3, value >> 3
        if kind == 3:  # reserved: corrupt, zstandard says so
            self.unknown = True
            return
        self._skip = 1 if kind == 1 else size  # an RLE block holds one byte
        if last:
            self._skip += 4 if self._checksum else 0
            self._want, self._state = 4, self._magic
        else:
            self._want = 3


class _Unzstd(io.RawIOBase):
    """A zstd stream decompressed; one that ends inside a frame raises EOFError at its
    end, as a truncated gzip, xz or bzip2 stream does."""

    def __init__(self, raw: BinaryIO) -> None:
        self._frames = _ZstdFrames(raw)
        # input taken in small reads (not zstandard's 128 KiB), so that the ratio guard
        # (:class:`_Counted`) sees what the output so far came from, and stops a bomb early
        self._reader = zstandard.ZstdDecompressor().stream_reader(
            cast(IO[bytes], self._frames), read_size=ZSTD_READ, read_across_frames=True
        )

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = self._reader.readinto1(buffer)
        while not n and not self._frames.ended:  # a frame without output (an empty one)
            n = self._reader.readinto1(buffer)
        if not n and not self._frames.complete:
            raise EOFError("compressed file ended before the end of its last zstd frame")
        return n

    readinto1 = readinto


def _unxz(stream: BinaryIO) -> IO[bytes]:
    """A decompressing reader of an xz stream (rotated logs compressed by logrotate's
    ``compresscmd xz``); open as long as the member is read."""
    return cast(IO[bytes], lzma.LZMAFile(stream))


def _bunzip2(stream: BinaryIO) -> IO[bytes]:
    """A decompressing reader of a bzip2 stream."""
    return cast(IO[bytes], bz2.BZ2File(stream))


class _Inflate(io.RawIOBase):
    """A gzip stream of one or more members, inflated with ISA-L's streaming API.

    Compressed input is fed :data:`MEMBER_PIECE` bytes at a time and output is taken at
    most :data:`INFLATE_OUT` bytes at a time, so a bomb never expands in one go and
    everything before a truncation is returned (damage costs at most one feed). The
    member trailers (CRC-32, length) are checked as by the ``gzip`` module."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._inflater = _isal_zlib.decompressobj(wbits=_GZIP_WBITS)
        self._pending = memoryview(b"")
        self._input = b""  # compressed bytes not yet given to the inflater

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            if not self._inflate():
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    readinto1 = readinto  # (one inflate step at most: what a guarded reader wants)

    def _inflate(self) -> bool:
        """Make some output; False at the end of the stream."""
        inflater = self._inflater
        if inflater.eof:  # a member ended: what follows starts the next one
            self._input = inflater.unused_data + self._input
            if not self._input:
                self._input = self._raw.read(MEMBER_PIECE)
                if not self._input:
                    return False
            inflater = self._inflater = _isal_zlib.decompressobj(wbits=_GZIP_WBITS)
        if not self._input:
            self._input = inflater.unconsumed_tail or self._raw.read(MEMBER_PIECE)
            if not self._input:
                raise EOFError("compressed file ended before the end-of-stream marker")
        out = inflater.decompress(self._input, INFLATE_OUT)
        self._input = inflater.unconsumed_tail
        self._pending = memoryview(out)
        return True


def _read_up_to(stream: BinaryIO, n: int) -> bytes:
    parts: list[bytes] = []
    remaining = n
    while remaining > 0:
        data = stream.read(min(remaining, 4 * 1024 * 1024))
        if not data:
            break
        parts.append(data)
        remaining -= len(data)
    return b"".join(parts)


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read for sniffing."""

    def __init__(self, prefix: bytes, rest: BinaryIO) -> None:
        self._prefix = prefix
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        read_into = getattr(self._rest, "readinto", None)
        if read_into is not None:
            return read_into(buffer) or 0
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _buffered(raw: io.RawIOBase) -> BinaryIO:
    return io.BufferedReader(raw, buffer_size=1024 * 1024)


def _strip_suffix(name: str, suffixes: tuple[str, ...]) -> str:
    lower = name.lower()
    for suffix in suffixes:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _is_tar(head: bytes) -> bool:
    return len(head) >= 262 and head[257:262] == b"ustar"


def _safe_member_name(name: str) -> str | None:
    """The member's path if it is safe to use as a display path, else None."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return None
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if any(part == ".." for part in parts):
        return None
    return "/".join(p for p in parts if p not in ("", "."))


class _Walker:
    """Recursively opens streams: decompresses, descends into archives, yields files."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.layers = 0  # compression layers around the stream being opened

    def open_stream(
        self,
        display: str,
        inner: str,
        raw: BinaryIO,
        depth: int,
        compressed: int | None,
        named: bool = False,
    ) -> Iterator[Member | Skipped]:
        """``named``: the stream is a member of the bundle (a file of its folder, one of
        several files given, a member of an archive), not the bundle itself, so if it is
        an archive its name is a folder of its members' paths (:func:`_archive_folder`)."""
        try:
            head = _read_up_to(raw, 512)
        except DATA_ERRORS as exc:
            yield Skipped(display, inner, f"unreadable: {type(exc).__name__}: {exc}")
            return
        stream: BinaryIO
        if isinstance(raw, io.BufferedReader) and isinstance(raw.raw, io.FileIO):
            raw.seek(0)
            stream = raw
        else:
            stream = _buffered(_Prefixed(head, raw))
        codec = _codec(head)
        if codec is not None:
            opener, suffixes, ratio = codec
            tally = _Tally(stream)
            reader = opener(cast(BinaryIO, tally))
            yield from self._decompressed(
                display, inner, reader, depth, (tally, suffixes, ratio), named
            )
        elif _is_tar(head) or head.startswith((ZIP_MAGIC, ZIP_EMPTY_MAGIC)):
            base = _archive_folder(inner) if named else ""
            yield from self._archive(display, (inner, base), stream, head, depth)
        elif unsupported := _unsupported_archive(head):
            yield Skipped(
                display, inner, f"unsupported archive format ({unsupported}): extract it first"
            )
        else:
            yield Member(display, inner, stream, compressed)

    def _decompressed(
        self,
        display: str,
        inner: str,
        reader: IO[bytes],
        depth: int,
        codec: tuple[_Tally, tuple[str, ...], int],
        named: bool,
    ) -> Iterator[Member | Skipped]:
        """``reader`` (decompressing what ``tally`` counts) opened in turn; read no
        further once it expands more than ``ratio`` times what it consumed."""
        tally, suffixes, ratio = codec
        if self.layers >= MAX_LAYERS:
            yield Skipped(
                display,
                inner,
                f"compressed more than {MAX_LAYERS} times over: "
                "not followed (a compression quine or bomb)",
            )
            return
        guard = _Counted(reader, self.limits, display, tally.taken, ratio=ratio)
        new_inner = _strip_suffix(inner, suffixes)
        self.layers += 1
        read = False  # whether a member of this very path was given out (and read)
        try:
            opened = self.open_stream(display, new_inner, _buffered(guard), depth, None, named)
            for item in opened:
                read = read or (isinstance(item, Member) and item.path == display)
                yield item
        except DATA_ERRORS as exc:
            yield Skipped(display, inner, f"corrupt compressed data: {exc}", read)
        finally:
            self.layers -= 1
        for reason in guard.problems("truncated or corrupt compressed data"):
            yield Skipped(display, inner, reason, read)

    def _archive(
        self, display: str, where: tuple[str, str], stream: BinaryIO, head: bytes, depth: int
    ) -> Iterator[Member | Skipped]:
        """The members of an archive (``where``: its path in the bundle, and the folder its
        members' paths are under: "" for the bundle's root, that is for the bundle archive
        itself; its name without the suffix for an archive of the bundle)."""
        inner, base = where
        if depth >= self.limits.max_depth:
            yield Skipped(
                display,
                inner,
                f"archive nested deeper than {self.limits.max_depth} levels is not followed",
            )
            return
        if _is_tar(head):
            yield from self._tar(display, base, stream, depth + 1)
        else:
            yield from self._zip(display, base, stream, depth + 1)

    def _tar(
        self, display: str, base: str, stream: BinaryIO, depth: int
    ) -> Iterator[Member | Skipped]:
        try:
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                for info in archive:
                    yield from self._tar_member(display, base, archive, info, depth)
        except tarfile.ReadError as exc:
            yield Skipped(display, base, f"truncated or corrupt tar archive: {exc}")

    def _tar_member(
        self,
        display: str,
        base: str,
        archive: tarfile.TarFile,
        info: tarfile.TarInfo,
        depth: int,
    ) -> Iterator[Member | Skipped]:
        name = _safe_member_name(info.name)
        where = f"{display}/{info.name}"
        if info.isdir():
            return
        if name is None:
            yield Skipped(where, info.name, "unsafe member path (absolute or '..'): ignored")
            return
        inner = _under(base, name)
        if info.issym() or info.islnk():
            yield Skipped(f"{display}/{name}", inner, "link member: ignored, never followed")
            return
        if not info.isfile():
            yield Skipped(f"{display}/{name}", inner, "device or special member: ignored")
            return
        fh = archive.extractfile(info)
        if fh is None:
            return
        guard = _Guarded(fh, MEMBER_PIECE)
        where = f"{display}/{name}"
        read = yield from _given_out(
            self.open_stream(where, inner, _buffered(guard), depth, info.size, named=True), where
        )
        damage = guard.damage("tar member cut short")
        if damage:
            yield Skipped(where, inner, damage, read)

    def _zip(
        self, display: str, base: str, stream: BinaryIO, depth: int
    ) -> Iterator[Member | Skipped]:
        seekable: BinaryIO
        if _is_seekable(stream):
            seekable = stream
        else:
            data = self._slurp(stream)
            if data is None:
                yield Skipped(
                    display,
                    base,
                    f"nested zip archive larger than {NESTED_ZIP_BYTES:,} "
                    "bytes: not read (extract it and pass the folder)",
                )
                return
            seekable = io.BytesIO(data)
        try:
            archive = zipfile.ZipFile(seekable)
        except ZIP_OPEN_ERRORS as exc:
            yield Skipped(display, base, f"corrupt zip archive: {exc}")
            return
        with archive:
            infos = sorted(archive.infolist(), key=lambda i: i.filename)
            files = [i for i in infos if not i.is_dir()]
            if files and all(i.flag_bits & ZIP_ENCRYPTED for i in files):
                yield Skipped(display, base, "password-protected (encrypted) zip: not read")
                return
            for info in infos:
                yield from self._zip_member(display, base, archive, info, depth)

    def _zip_member(
        self,
        display: str,
        base: str,
        archive: zipfile.ZipFile,
        info: zipfile.ZipInfo,
        depth: int,
    ) -> Iterator[Member | Skipped]:
        if info.is_dir():
            return
        name = _safe_member_name(info.filename)
        if name is None:
            yield Skipped(
                f"{display}/{info.filename}",
                info.filename,
                "unsafe member path (absolute or '..'): ignored",
            )
            return
        if (info.external_attr >> 16) & 0o170000 == ZIP_DIR:
            return
        inner = _under(base, name)
        refused = _zip_refusal(info)
        if refused is not None:
            yield Skipped(f"{display}/{name}", inner, refused)
            return
        try:
            fh = archive.open(info)
        except ZIP_MEMBER_ERRORS as exc:
            yield Skipped(f"{display}/{name}", inner, f"unreadable zip member: {exc}")
            return
        where = f"{display}/{name}"
        deflated = info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
        ratio = MAX_RATIO if deflated else DENSE_RATIO
        size = info.compress_size  # (what the zip reader consumed is not told: all of it)
        guard = _Counted(fh, self.limits, where, lambda: size, MEMBER_PIECE, ratio)
        read = yield from _given_out(
            self.open_stream(where, inner, _buffered(guard), depth, None, named=True), where
        )
        for reason in guard.problems("corrupt zip member"):
            yield Skipped(where, inner, reason, read)

    def _slurp(self, stream: BinaryIO) -> bytes | None:
        """A nested zip (zip needs random access) read into memory, or None if too big."""
        limit = min(self.limits.max_bytes, NESTED_ZIP_BYTES)
        data = _read_up_to(stream, limit + 1)
        return None if len(data) > limit else data


def _zip_refusal(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member (not a folder) is not read: a link, a device, encrypted."""
    mode = (info.external_attr >> 16) & 0o170000
    if mode == ZIP_LINK:
        return "link member: ignored, never followed"
    if mode not in (0, ZIP_FILE):
        return "device or special member: ignored"
    if info.flag_bits & ZIP_ENCRYPTED:
        return "password-protected (encrypted): not read"
    return None


def _archive_folder(inner: str) -> str:
    """The folder an archive that is a member of the bundle stands for (a file of its
    folder, one of several files given, an archive nested in the bundle archive): its path
    without the archive suffix (compression suffixes are already off). Per-node archives
    are named by their node (``10.20.0.10_3306.tar.gz``, ``ip-10-0-1-14.tgz``) and hold its
    files at their root or under the same inner folders (``var/lib/memsql/<id>/``), so the
    name is what tells the nodes apart (SPEC §2.3)."""
    return _strip_suffix(inner, (".tar", ".zip"))


def _under(base: str, name: str) -> str:
    return f"{base}/{name}" if base else name


def _given_out(
    items: Iterator[Member | Skipped], path: str
) -> Generator[Member | Skipped, None, bool]:
    """``items`` passed on; returns whether a member of ``path`` itself was among them."""
    given = False
    for item in items:
        given = given or (isinstance(item, Member) and item.path == path)
        yield item
    return given


def _unsupported_archive(head: bytes) -> str | None:
    """The name of an archive format that is recognised but not read (7z, rar)."""
    return next(
        (name for magic, name in UNSUPPORTED_ARCHIVES.items() if head.startswith(magic)), None
    )


def _is_seekable(stream: BinaryIO) -> bool:
    try:
        return stream.seekable()
    except (AttributeError, ValueError):
        return False


def iter_members(
    paths: Sequence[str | os.PathLike[str]],
    limits: Limits | None = None,
    *,
    root: str | os.PathLike[str] | None = None,
) -> Iterator[Member | Skipped]:
    """Every file of the given inputs, in a stable order (sorted within directories).

    A folder or an archive given is a bundle: its members' paths start inside it. Files
    given one by one make a bundle rooted at the folder they share (``root``: that folder,
    for a caller passing the inputs one at a time, see :func:`common_root`): each one's
    path below it is its path in the bundle, where its node is read from, as
    ``*/tracelogs/memsql.log`` would otherwise all be the node ``memsql.log``; an archive
    among them is a folder of its name (``ip-10-0-1-*.tar.gz``: each its host's)."""
    limits = limits or Limits()
    walker = _Walker(limits)
    base = Path(root) if root is not None else common_root(paths)
    for given in paths:
        path = Path(given)
        if not path.exists() and not path.is_symlink():
            raise InputError("no such file or directory", str(given))
        if path.is_dir():  # (a link the user names is followed: they chose it)
            yield from _walk_dir(walker, path)
        else:
            inner = (
                below(path, base) or path.name
            )  # (also its display: memsql.log six times says nothing)
            named = base is not None  # (one of several: a member of their bundle)
            yield from _open_file(walker, path, inner, inner, follow=True, named=named)


def common_root(paths: Sequence[str | os.PathLike[str]]) -> Path | None:
    """The folder several inputs given together sit in: the root of the bundle the files
    among them make. None for a single input, which is the bundle itself."""
    if len(paths) < 2:
        return None
    return Path(os.path.commonpath([Path(os.path.abspath(p)).parent for p in paths]))


def below(path: str | os.PathLike[str], root: Path | None) -> str:
    """``path`` relative to ``root`` ('/'-joined), "" without a root."""
    if root is None:
        return ""
    return Path(os.path.abspath(path)).relative_to(root).as_posix()


def walk_dir(root: Path) -> Iterator[tuple[Path, str, str]]:
    """(file, display path, path inside the bundle) for every file below ``root``, sorted;
    links to directories are not followed but listed like files (to be reported skipped)."""
    base = root.name or str(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        dirnames[:] = sorted(d for d in dirnames if d not in links)
        for filename in sorted([*filenames, *links]):
            full = Path(dirpath, filename)
            inner = full.relative_to(root).as_posix()
            yield full, f"{base}/{inner}", inner


def open_file(full: Path, display: str, inner: str, limits: Limits) -> Iterator[Member | Skipped]:
    """The members of one file of a directory bundle (itself, or what its archive holds)."""
    return _open_file(_Walker(limits), full, display, inner, named=True)


def _walk_dir(walker: _Walker, root: Path) -> Iterator[Member | Skipped]:
    for full, display, inner in walk_dir(root):
        yield from _open_file(walker, full, display, inner, named=True)


def _open_file(
    walker: _Walker,
    full: Path,
    display: str,
    inner: str,
    *,
    follow: bool = False,
    named: bool = False,
) -> Iterator[Member | Skipped]:
    """``follow``: read what a symbolic link points to (a path named on the command line);
    a link inside a bundle is never followed. ``named``: the file is a file of the bundle,
    not the bundle itself (see :meth:`_Walker.open_stream`)."""
    if full.is_symlink() and not follow:
        what = "symbolic link to a folder" if full.is_dir() else "symbolic link"
        yield Skipped(display, inner, f"{what}: ignored, never followed")
        return
    if full.is_symlink() and not full.exists():
        yield Skipped(display, inner, "symbolic link to a missing file: ignored")
        return
    if not full.is_file():
        yield Skipped(display, inner, "not a regular file: ignored")
        return
    try:
        fh = full.open("rb")
    except OSError as exc:
        yield Skipped(display, inner, f"cannot open: {exc.strerror}")
        return
    with fh:
        size = full.stat().st_size
        yield from walker.open_stream(display, inner, fh, 0, size, named)
