"""Hyperscan in a helper process: which lines of the large plain logs hold a keep word.

Why a process: Hyperscan itself releases the GIL, but its Python binding calls back into
Python once per matching line. In the parsing process those callbacks compete for the
GIL with the threads that build frames, and every hand-over costs a context switch, so
the vocabulary scans of all pieces ran one after the other. A helper process has a GIL
of its own (``forensics scan`` of the 1.1 GB bench bundle: 4.7 s -> 3.4 s, medians of
interleaved runs). It is started before the main process imports
Polars (``forensics analyze`` / ``scan``), reads the plain tracelogs of the inputs ahead
of the parser, and answers each piece's request with the offsets of its matching
newlines; the parser then only checks them (:func:`usable`).

Nothing depends on the helper for correctness: with no helper (no Hyperscan, small
inputs, ``FORENSICS_PREFILTER=0``), a dead one, a file changed since, or an answer that
does not fit the piece, the parser scans the piece itself as before.

Protocol, over the helper's standard input and output:

* first line, JSON: ``{"words", "exact", "paths", "block", "min_bytes", "files"}``;
* then requests, one JSON object per line: ``{"id", "path", "ident", "start", "end"}``
  (``ident``: device, inode, size, mtime in ns of the file the caller opened; ``start``
  and ``end``: offsets of line starts, or ``end`` the end of the file), or
  ``{"paths": [...]}``, more inputs to read ahead;
* each answer: two little-endian int64, the request id and a count *n*, then *n* int64:
  the offsets, relative to ``start``, of the newline ending each line of
  [``start``, ``end``) that holds a word or an exact literal (at the end of a file
  without a final newline: the offset of the end, as if it had one). *n* = -1: no answer.

While no request waits, the helper reads ahead, a block at a time, in the first
unfinished tracelogs of the inputs in walk order, as many as the loader reads at once
(``files``, :data:`FILES_AT_ONCE`): files of at least ``min_bytes`` whose head is not
compressed and has the tracelog layout.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .. import bundle

if TYPE_CHECKING:  # (imported where used: the command line starts the helper before NumPy)
    import numpy as np

_HEADER = struct.Struct("<qq")
_BLOCK = 4 << 20  # bytes read ahead between two looks for requests
#: Tracelogs the loader reads at once (:mod:`forensics.loader` uses it), and so the files
#: the helper reads ahead at once: while two files build their events (Polars work that
#: keeps little of the piece threads busy), the pieces of a third keep them going.
FILES_AT_ONCE = max(2, min(4, (os.cpu_count() or 1) + 1))
# what the loader decompresses or unpacks, and bzip2 and xz, which it does not read
_COMPRESSED = (
    bundle.GZIP_MAGIC,
    bundle.ZSTD_MAGIC,
    bundle.ZIP_MAGIC,
    bundle.BZIP2_MAGIC,
    bundle.XZ_MAGIC,
)
_SWITCH = "FORENSICS_PREFILTER"  # "0": never start the helper

Ident = tuple[int, int, int, int]  # device, inode, size, mtime_ns


def ident_of(fd: int) -> Ident:
    st = os.fstat(fd)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


# ----------------------------------------------------------------------------- the caller


class Prefilter:
    """The caller's end of one helper process (thread-safe)."""

    def __init__(
        self, words: tuple[str, ...], exact: tuple[str, ...], paths: Sequence[str], **opts: int
    ) -> None:
        self.key = (words, exact)
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._lock = threading.Lock()
        self._waiting: dict[int, Future[np.ndarray | None]] = {}
        self._next = 0
        self.alive = True
        self._given = dict.fromkeys(_absolute(paths))  # (in the order given: the walk order)
        hello = {"words": words, "exact": exact, "paths": list(self._given), **opts}
        self._send(hello)
        threading.Thread(target=self._read, name="prefilter", daemon=True).start()

    def add(self, paths: Sequence[str]) -> None:
        """More inputs to read ahead (those it was given already are not walked again)."""
        fresh = [p for p in dict.fromkeys(_absolute(paths)) if p not in self._given]
        if fresh:
            self._given.update(dict.fromkeys(fresh))
            self._send({"paths": fresh})

    def request(self, path: str, ident: Ident, start: int, end: int) -> Future[np.ndarray | None]:
        """The matching newlines of [start, end) of the file, relative to start (None:
        the caller scans the piece itself)."""
        future: Future[np.ndarray | None] = Future()
        with self._lock:
            if not self.alive:
                future.set_result(None)
                return future
            self._next += 1
            self._waiting[self._next] = future
            message = {"id": self._next, "path": path, "ident": ident, "start": start, "end": end}
            self._send_locked(message)
        return future

    def close(self) -> None:
        """End the helper (its input closes: it stops within a block) and wait for it."""
        with self._lock:
            self._dead()
        if self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        try:
            self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:  # pragma: no cover - a helper that hangs
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:  # (after the exit: the reader thread has its EOF)
            self._proc.stdout.close()

    def _send(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._send_locked(message)

    def _send_locked(self, message: dict[str, Any]) -> None:
        if not self.alive or self._proc.stdin is None:
            return
        try:
            self._proc.stdin.write(json.dumps(message).encode() + b"\n")
            self._proc.stdin.flush()
        except (OSError, ValueError):
            self._dead()

    def _read(self) -> None:
        import numpy as np

        out = self._proc.stdout
        try:
            while out is not None:
                header = _read_exact(out, _HEADER.size)
                if header is None:
                    break
                rid, n = _HEADER.unpack(header)
                body = _read_exact(out, 8 * n) if n > 0 else b""
                if body is None:
                    break
                hits = np.frombuffer(body, dtype="<i8").astype(np.int64) if n >= 0 else None
                with self._lock:
                    future = self._waiting.pop(rid, None)
                if future is not None:
                    future.set_result(hits)
        except (OSError, ValueError):
            pass
        with self._lock:
            self._dead()

    def _dead(self) -> None:
        self.alive = False
        for future in self._waiting.values():
            future.set_result(None)
        self._waiting.clear()


def _read_exact(stream: IO[bytes], n: int) -> bytes | None:
    data = stream.read(n)
    return data if data is not None and len(data) == n else None


def _absolute(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    return [os.path.abspath(p) for p in paths]


_SHARED: Prefilter | None = None
_SHARED_LOCK = threading.Lock()
_ENDED_AT_EXIT = False


def start(paths: Sequence[str | os.PathLike[str]]) -> Prefilter | None:
    """The helper for ``paths`` (started, or told about them), when they hold at least
    ``helper_min_bytes`` of uncompressed files (grammars/tracelog.toml) and Hyperscan is
    installed; cheap enough to call before Polars is imported."""
    global _SHARED, _ENDED_AT_EXIT
    from importlib.util import find_spec

    from .layout import layout

    if os.environ.get(_SWITCH) == "0" or find_spec("hyperscan") is None:
        return None
    if not sys.executable or getattr(sys, "frozen", False):  # (no interpreter to start)
        return None
    lay = layout()
    key = (lay.vocabulary, lay.keep_words)
    with _SHARED_LOCK:
        if _SHARED is not None and _SHARED.alive and _SHARED.key == key:
            _SHARED.add([str(p) for p in paths])
            return _SHARED
        if _plain_bytes(paths, lay.helper_min_bytes) < lay.helper_min_bytes:
            return None
        if _SHARED is not None:
            _SHARED.close()
        if not _ENDED_AT_EXIT:  # (library use: ended with the interpreter, not left behind)
            atexit.register(stop)
            _ENDED_AT_EXIT = True
        try:
            _SHARED = Prefilter(
                *key,
                [str(p) for p in paths],
                block=_BLOCK,
                min_bytes=lay.fast_min_bytes,
                files=FILES_AT_ONCE,
            )
        except OSError:  # (no process to be had: the parser scans every piece itself)
            _SHARED = None
        return _SHARED


def current(key: tuple[tuple[str, ...], tuple[str, ...]]) -> Prefilter | None:
    """The running helper if it matches the vocabulary ``key`` (words, exact)."""
    shared = _SHARED
    return shared if shared is not None and shared.alive and shared.key == key else None


def stop() -> None:
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is not None:
            _SHARED.close()
        _SHARED = None


def _plain_bytes(paths: Sequence[str | os.PathLike[str]], enough: int) -> int:
    """Bytes of the uncompressed files under ``paths`` (the walk stops at ``enough``)."""
    total = 0
    for given in paths:
        for full in _files(Path(given)):
            try:
                if full.is_symlink() or not full.is_file():  # (a FIFO would block the open)
                    continue
                with full.open("rb") as fh:
                    if fh.read(8).startswith(_COMPRESSED):
                        continue
                    total += os.fstat(fh.fileno()).st_size
            except OSError:
                continue
            if total >= enough:
                return total
    return total


def _files(path: Path) -> Iterator[Path]:
    if path.is_dir() and not path.is_symlink():
        for full, _display, _inner in bundle.walk_dir(path):
            yield full
    else:
        yield path


def usable(hits: np.ndarray | None, data: np.ndarray) -> bool:
    """Whether ``hits`` fits the piece ``data``: increasing, every offset at a newline
    of the piece, or at its end when it has no final newline."""
    import numpy as np

    if hits is None:
        return False
    if not hits.size:
        return True
    n = data.size
    if hits[0] < 0 or hits[-1] > n or (hits.size > 1 and not (np.diff(hits) > 0).all()):
        return False
    if hits[-1] == n and n and data[-1] == 10:
        return False
    inside = hits[:-1] if hits[-1] == n else hits
    return bool((data[inside] == 10).all())


# ----------------------------------------------------------------------------- the helper


class _File:
    """One log being read: the newline offsets found so far, up to ``covered``.

    Read with ``pread`` into one reused buffer a block at a time (a memory map cost this
    process a page fault per 64 kB and the unmapping after), each block cut after its last
    newline so that no line is split between two scans."""

    def __init__(self, path: str, block: int) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDONLY)
        try:
            self.ident = ident_of(self.fd)
        except OSError:
            os.close(self.fd)
            raise
        self.size = self.ident[2]
        self.covered = 0
        self._buffer = bytearray(block + 1)  # (+1: room for the newline an unterminated end lacks)
        self._parts: list[np.ndarray] = []
        self._all: np.ndarray | None = None

    @property
    def done(self) -> bool:
        return self.covered >= self.size

    def advance(self, scan: Callable[[Any], list[int]], end: int | None) -> None:
        """Scan from ``covered`` to ``end`` (a line start, or the end of the file), or one
        block further when ``end`` is None."""
        if end is None:
            self._step(scan, self.size)
            return
        end = min(end, self.size)
        while self.covered < end:
            self._step(scan, end)

    def _step(self, scan: Callable[[Any], list[int]], limit: int) -> None:
        """Scan one buffer's worth of the lines from ``covered`` towards ``limit``."""
        import numpy as np

        start = self.covered
        want = min(limit, start + len(self._buffer) - 1) - start
        view = memoryview(self._buffer)
        n = _pread_into(self.fd, view[:want], start)
        if n < want:
            raise OSError(f"{self.path}: shorter than when it was opened")
        if start + n < limit:  # cut after the last newline read: the next step goes on from it
            cut = self._buffer.rfind(b"\n", 0, n) + 1
            if cut == 0:  # a line longer than the buffer: read it again into a larger one
                self._buffer = bytearray(2 * len(self._buffer))
                return
            n = cut
        elif start + n == self.size and n and self._buffer[n - 1] != 10:
            self._buffer[n] = 10  # the end of a file without a final newline: as if it had one
            n += 1
        found = scan(view[:n])
        view.release()
        self._parts.append(np.asarray(found, dtype=np.int64) + (start - 1))
        self._all = None
        self.covered = min(start + n, self.size)

    def hits(self, start: int, end: int) -> np.ndarray:
        import numpy as np

        if self._all is None:
            self._all = np.concatenate(self._parts) if self._parts else np.empty(0, np.int64)
        stop = end + 1 if end >= self.size else end  # (the end of an unterminated file)
        lo, hi = np.searchsorted(self._all, [start, stop])
        return self._all[lo:hi] - start

    def close(self) -> None:
        os.close(self.fd)


def _pread_into(fd: int, view: memoryview, offset: int) -> int:
    """Read ``len(view)`` bytes at ``offset`` into ``view`` (fewer at the end of the file)."""
    done = 0
    while done < len(view):
        if hasattr(os, "preadv"):
            got = os.preadv(fd, [view[done:]], offset + done)
        else:  # pragma: no cover - platforms without preadv
            data = os.pread(fd, len(view) - done, offset + done)
            got = len(data)
            view[done : done + got] = data
        if not got:
            break
        done += got
    return done


class _Helper:
    def __init__(self, hello: dict[str, Any]) -> None:
        import hyperscan

        from .vocab import Vocabulary

        self.scan = Vocabulary(hyperscan, hello["words"], hello["exact"]).ends
        self.block = int(hello.get("block", _BLOCK))
        self.min_bytes = int(hello.get("min_bytes", 0))
        self.at_once = max(1, int(hello.get("files", FILES_AT_ONCE)))
        self.files: dict[str, _File] = {}
        self.order: list[str] = []  # read-ahead candidates, in walk order
        self.finished: set[str] = set()  # read to the end by the caller (or unreadable)
        self.walked: set[str] = set()  # the candidates found in the inputs
        self._walks: deque[Iterator[str]] = deque()
        self.add(hello.get("paths", []))

    def add(self, paths: Sequence[str]) -> None:
        self._walks.append(self._candidates(paths))

    def answer(self, request: dict[str, Any]) -> np.ndarray | None:
        path, start, end = request["path"], int(request["start"]), int(request["end"])
        ident = tuple(request["ident"])
        if start < 0 or end < start:
            return None
        self._passed(path)
        log = self.files.get(path)
        if log is None or log.ident != ident:
            if log is not None:
                log.close()
            log = self.files[path] = _File(path, self.block)
            if path not in self.order:
                self.order.append(path)
            if log.ident != ident:  # changed since the caller opened it
                return None
        if log.covered < end:
            log.advance(self.scan, end)
        hits = log.hits(start, end)
        if end >= log.size:  # the caller has read the whole file
            self._finish(path)
        return hits

    def read_ahead(self) -> bool:
        """Scan one block in the first files the caller has not read to the end (at most
        ``files`` of them, as many as the loader reads at once); False: nothing to do until
        the next request."""
        window = [p for p in self.order if p not in self.finished]
        while len(window) < self.at_once and (found := self._pull()):
            window.append(found)
        todo = [p for p in window[: self.at_once] if not self._done(p)]
        if not todo:
            return False
        path = min(todo, key=self._covered)
        log = self.files.get(path)
        if log is None:
            try:
                log = self.files[path] = _File(path, self.block)
            except OSError:
                self._finish(path)
                return True
        try:
            log.advance(self.scan, None)
        except OSError:  # (a file cut short while read: the caller scans it itself)
            self._finish(path)
        return True

    def _passed(self, path: str) -> None:
        """The caller asks for ``path``: the candidates well before it (the loader reads
        ``files`` at once, in walk order) were skipped by it or are done; forget them."""
        while path not in self.walked and self._pull():
            pass
        if path not in self.walked:
            return
        at = self.order.index(path)
        for stale in self.order[: max(0, at - self.at_once + 1)]:
            self._finish(stale)

    def _pull(self) -> str | None:
        """The next candidate of the inputs (added to the order), or None: no more."""
        while self._walks:
            found = next(self._walks[0], None)
            if found is None:
                self._walks.popleft()
            elif found not in self.order:
                self.order.append(found)
                self.walked.add(found)
                return found
        return None

    def _finish(self, path: str) -> None:
        log = self.files.pop(path, None)
        if log is not None:
            log.close()
        self.finished.add(path)

    def _done(self, path: str) -> bool:
        log = self.files.get(path)
        return log is not None and log.done

    def _covered(self, path: str) -> int:
        log = self.files.get(path)
        return log.covered if log is not None else 0

    def _candidates(self, paths: Sequence[str]) -> Iterator[str]:
        from .layout import sniff

        for given in paths:
            for full in _files(Path(given)):
                try:
                    if full.is_symlink() or not full.is_file():
                        continue
                    if full.stat().st_size < self.min_bytes:
                        continue
                    with full.open("rb") as fh:
                        head = fh.read(64 * 1024)
                except OSError:
                    continue
                if head.startswith(_COMPRESSED) or not sniff(head):
                    continue
                yield os.path.abspath(full)


def serve(inp: int, out: IO[bytes]) -> None:
    """The helper's loop: requests first, reading ahead in between; ends at end of input."""
    buffer = b""
    requests: deque[dict[str, Any]] = deque()
    helper: _Helper | None = None
    more = True
    while True:
        idle = not requests and (helper is None or not more)
        ready, _, _ = select.select([inp], [], [], None if idle else 0)
        if ready:
            chunk = os.read(inp, 1 << 16)
            if not chunk:
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                message = json.loads(line)
                if helper is None:
                    helper = _Helper(message)
                    more = True
                elif "id" in message:
                    requests.append(message)
                else:
                    helper.add(message.get("paths", []))
                    more = True
        if helper is None:
            continue
        if requests:
            request = requests.popleft()
            try:
                hits = helper.answer(request)
            except (OSError, ValueError):
                hits = None
            count = -1 if hits is None else int(hits.size)
            out.write(_HEADER.pack(int(request["id"]), count))
            if hits is not None and hits.size:
                out.write(hits.astype("<i8").tobytes())
            out.flush()
            more = True  # (the window of files to read ahead may have moved)
        elif more:
            more = helper.read_ahead()


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):  # the caller went away
        serve(sys.stdin.fileno(), sys.stdout.buffer)
