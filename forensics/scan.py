"""Batch scan: many bundles and historical logs → one table of rebalance incidents (SPEC §7).

The unit of work is :func:`scan_file`: one input in, two small frames out. It holds no
state and touches nothing but its input, so a distributed engine can map it over millions
of inputs; :func:`scan` is the local driver (process pool, progress, skip-if-seen).

What counts as one input: an archive file; or a directory that looks like a bundle — it
directly holds a file whose content is a tracelog or a table, or a node folder
(``<host>-MA``, ``<host>_<port>``, ...) — whose whole content is then one input (a folder
copied off a cluster, a node's rotated tracelogs). Any other directory is a container:
its archives are inputs and its sub-directories are examined in turn.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import polars as pl

from . import allocator
from .errors import ForensicsError, UsageError
from .parsers import prefilter
from .schemas import make_schema

ARCHIVE_SUFFIXES = (
    ".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst", ".tar.xz", ".txz", ".tar.bz2", ".tbz2",
    ".zip",
)  # fmt: skip
FINGERPRINT_BYTES = 1024 * 1024

INCIDENTS = make_schema(
    {
        "input": pl.String,
        "input_hash": pl.String,
        "database": pl.String,
        "status": pl.String,  # failure / inconclusive
        "time": pl.Datetime("us", "UTC"),
        "phase": pl.String,
        "cause": pl.String,
        "confidence": pl.Float64,
        "node": pl.String,
        "evidence_file": pl.String,
        "evidence_line": pl.Int64,
        "evidence_text": pl.String,
        "summary": pl.String,
    }
)

INPUT_STATS = make_schema(
    {
        "input": pl.String,
        "input_hash": pl.String,
        "files": pl.Int64,
        "skipped_files": pl.Int64,
        "lines": pl.Int64,
        "events": pl.Int64,
        "bytes": pl.Int64,
        "rebalances": pl.Int64,
        "incidents": pl.Int64,
        "seconds": pl.Float64,
        "error": pl.String,
    }
)


@dataclass
class ScanResult:
    incidents: pl.DataFrame  # INCIDENTS
    stats: pl.DataFrame  # INPUT_STATS


def _is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def find_inputs(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The inputs under the given paths, in a stable order."""
    found: list[Path] = []
    for given in paths:
        found.extend(_inputs_under(Path(given)))
    return sorted(dict.fromkeys(found))


def _inputs_under(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    if not path.is_dir():
        raise ForensicsError("no such file or directory", str(path))
    children = [c for c in sorted(path.iterdir()) if not c.is_symlink()]
    if _looks_like_bundle(children) and not _holds_bundles(children):
        yield path
        return
    for child in children:
        if child.is_dir():
            yield from _inputs_under(child)
        elif _is_archive(child) or _recognised(child):  # (a loose log: an input of its own)
            yield child


def _holds_bundles(children: list[Path]) -> bool:
    """A folder of tickets rather than one bundle, though it holds a loose log or table:
    two or more archives or sub-folders that hold tracelogs (or node folders) of their
    own, and no node folder of its own. (One archive or a folder of tables beside loose
    logs is part of the bundle.)"""
    if any(_is_node_folder(c) for c in children):
        return False
    bundles = sum(1 for c in children if c.is_file() and _is_archive(c))
    bundles += sum(1 for c in children if c.is_dir() and _has_logs(c))
    return bundles >= 2


def _has_logs(folder: Path) -> bool:
    """Whether ``folder`` directly holds a tracelog or a node folder."""
    from .parsers import tracelog

    for child in sorted(folder.iterdir()):
        if child.is_symlink():
            continue
        if child.is_dir():
            if _is_node_folder(child):
                return True
        elif (head := _head(child)) is not None and tracelog.sniff(head):
            return True
    return False


def _is_node_folder(path: Path) -> bool:
    """A folder whose name tells a node (``<host>_<port>``, ``<host>-MA``, ...)."""
    from .nodes import identify

    return path.is_dir() and not identify(f"{path.name}/x").from_path


def _head(path: Path) -> bytes | None:
    """The first bytes of a file's first member (decompressing a .gz/.zst head)."""
    from .bundle import Member, iter_members

    try:
        for item in iter_members([path]):
            return item.head() if isinstance(item, Member) else None
    except ForensicsError:
        return None
    return None


def _recognised(path: Path) -> bool:
    """Whether a loose file is a tracelog or a table."""
    from .parsers import tables, tracelog

    head = _head(path)
    if head is None:
        return False
    return tracelog.sniff(head) or tracelog.viewer_prefix(head) is not None or tables.sniff(head)


def _looks_like_bundle(children: list[Path]) -> bool:
    for child in children:
        if child.is_symlink():
            continue
        if _is_node_folder(child):
            return True
        if child.is_file() and not _is_archive(child) and _recognised(child):
            return True
    return False


def _file_fingerprint(path: Path, digest: Any) -> None:
    size = path.stat().st_size
    digest.update(f"{size}\0".encode())
    with path.open("rb") as fh:
        digest.update(fh.read(FINGERPRINT_BYTES))
        if size > 2 * FINGERPRINT_BYTES:
            fh.seek(size - FINGERPRINT_BYTES)
        digest.update(fh.read(FINGERPRINT_BYTES))


def content_hash(path: Path) -> str:
    """Identity of an input's content (size, head and tail of every file; names inside dirs)."""
    digest = hashlib.blake2b(digest_size=16)
    if path.is_file():
        _file_fingerprint(path, digest)
        return digest.hexdigest()
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath, name)
            if full.is_symlink() or not full.is_file():
                continue
            digest.update(full.relative_to(path).as_posix().encode() + b"\0")
            _file_fingerprint(full, digest)
    return digest.hexdigest()


def scan_file(path: str | os.PathLike[str], *, input_hash: str | None = None) -> ScanResult:
    """Analyse one input; never raises for bad input (the error goes into ``stats``)."""
    from .analysis import analyze

    path = Path(path)
    key = input_hash or content_hash(path)
    started = time.perf_counter()
    try:
        # The lean pass: the same events and verdicts, without the per-minute line
        # counts that only the HTML report draws; and a row for every failed run.
        report = analyze(path, lean=True, every_run=True)
    except ForensicsError as exc:
        return ScanResult(
            pl.DataFrame(schema=INCIDENTS), _stats_row(path, key, started, error=str(exc))
        )
    except Exception as exc:  # one broken input must not stop a batch of thousands
        error = f"internal error: {type(exc).__name__}: {exc}"
        return ScanResult(
            pl.DataFrame(schema=INCIDENTS), _stats_row(path, key, started, error=error)
        )
    incidents = _incidents(report, str(path), key)
    bundle = report.bundle
    files = bundle.files
    stats = _stats_row(
        path,
        key,
        started,
        files=files.height,
        skipped_files=files.filter(pl.col("skipped_reason").is_not_null()).height,
        lines=int(files.get_column("lines").fill_null(0).sum()),
        events=bundle.events.height,
        bytes=int(files.get_column("bytes").fill_null(0).sum()),
        rebalances=len(report.rebalances),
        incidents=incidents.height,
    )
    return ScanResult(incidents, stats)


def _stats_row(path: Path, key: str, started: float, **values: object) -> pl.DataFrame:
    row = {
        "input": str(path),
        "input_hash": key,
        "seconds": round(time.perf_counter() - started, 3),
    }
    row.update(values)
    return pl.DataFrame([row], schema=INPUT_STATS, strict=False)


def _incidents(report: object, name: str, key: str) -> pl.DataFrame:
    rows = []
    findings = {f.id: f for f in report.findings}  # type: ignore[attr-defined]
    for v in report.verdicts:  # type: ignore[attr-defined]
        if v.status == "no_failure":
            continue
        finding = findings.get(v.finding) if v.finding else None
        ev = finding.evidence[0] if finding and finding.evidence else {}
        rows.append(
            {
                "input": name,
                "input_hash": key,
                "database": v.database,
                "status": v.status,
                "time": v.time,
                "phase": v.phase,
                "cause": v.cause,
                "confidence": v.confidence,
                "node": finding.node if finding else None,
                "evidence_file": ev.get("file"),
                "evidence_line": ev.get("line"),
                "evidence_text": ev.get("text") or v.error,
                "summary": v.summary,
            }
        )
    return pl.DataFrame(rows, schema=INCIDENTS, strict=False)


def stats_path(output: Path) -> Path:
    """The per-input statistics table written beside the incidents table."""
    return output.with_name(output.stem + ".inputs.parquet")


def _already_scanned(output: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    stats_file = stats_path(output)
    if not (output.exists() and stats_file.exists()):
        return pl.DataFrame(schema=INCIDENTS), pl.DataFrame(schema=INPUT_STATS)
    tables = []
    for path, schema in ((output, INCIDENTS), (stats_file, INPUT_STATS)):
        try:
            table = pl.read_parquet(path)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise UsageError(f"cannot read it as a Parquet table ({exc})", str(path)) from exc
        missing = [name for name in schema if name not in table.columns]
        if missing:
            raise UsageError(
                "not a table written by forensics scan (no column "
                f"{', '.join(missing[:3])}): name another output",
                str(path),
            )
        tables.append(table.select(list(schema)).cast(schema, strict=False))
    return tables[0], tables[1]


def scan(
    paths: Sequence[str | os.PathLike[str]],
    output: Path,
    *,
    jobs: int | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> tuple[ScanResult, int]:
    """Scan every input not already in ``output``; returns the full tables and the skip count."""
    from .export import atomic_write

    old_incidents, old_stats = _already_scanned(output)
    seen = set(old_stats.get_column("input_hash").to_list())
    todo = [(p, content_hash(p)) for p in find_inputs(paths)]
    fresh = []
    for p, h in todo:  # (the same content twice in one run, e.g. a re-upload: once)
        if h not in seen:
            seen.add(h)
            fresh.append((p, h))
    skipped = len(todo) - len(fresh)
    # an input whose content changed replaces its earlier rows
    again = pl.Series([str(p) for p, _ in fresh], dtype=pl.String).implode()
    old_incidents = old_incidents.filter(~pl.col("input").is_in(again))
    old_stats = old_stats.filter(~pl.col("input").is_in(again))
    results = _run(fresh, jobs or os.cpu_count() or 1, on_progress)
    incidents = pl.concat([old_incidents, *[r.incidents for r in results]]).sort(
        ["input", "database"], nulls_last=True
    )
    stats = pl.concat([old_stats, *[r.stats for r in results]]).sort("input")
    atomic_write(output, lambda tmp: incidents.write_parquet(tmp))
    atomic_write(stats_path(output), lambda tmp: stats.write_parquet(tmp))
    return ScanResult(incidents, stats), skipped


def _run(
    todo: list[tuple[Path, str]], jobs: int, on_progress: Callable[[int, int, str], None] | None
) -> list[ScanResult]:
    if not todo:
        return []
    results: list[ScanResult] = []
    if jobs <= 1 or len(todo) == 1:
        for done, (path, key) in enumerate(todo, start=1):
            results.append(scan_file(path, input_hash=key))
            if on_progress:
                on_progress(done, len(todo), str(path))
        return results
    prefilter.stop()  # (the workers start their own helpers: this one would read in vain)
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(todo)),
        mp_context=get_context("spawn"),
        initializer=allocator.tune,
    ) as pool:
        futures = {pool.submit(scan_file, path, input_hash=key): path for path, key in todo}
        for done, future in enumerate(as_completed(futures), start=1):
            results.append(future.result())
            if on_progress:
                on_progress(done, len(todo), str(futures[future]))
    return results
