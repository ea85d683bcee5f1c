"""Write frames to Parquet, CSV or JSON (atomically) or show them on the terminal."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl

from .errors import UsageError

LEVELS = ("INFO", "WARN", "ERROR", "FAILURE")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def filter_events(
    frame: pl.DataFrame, *, level: str | None = None, pattern: str | None = None
) -> pl.DataFrame:
    if level:
        wanted = level.upper().replace("WARNING", "WARN")
        if wanted not in LEVELS:
            raise UsageError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
        frame = frame.filter(pl.col("level").is_in(LEVELS[LEVELS.index(wanted) :]))
    if pattern:
        try:
            frame = frame.filter(pl.col("message").str.contains(pattern))
        except pl.exceptions.ComputeError as exc:
            raise UsageError(f"invalid --grep regex {pattern!r}: {_regex_problem(exc)}") from exc
    return frame


def _regex_problem(exc: Exception) -> str:
    """The one line of a Polars regex error that says what is wrong."""
    lines = [ln.strip() for ln in str(exc).splitlines()]
    found = [ln.removeprefix("error:").strip() for ln in lines if ln.startswith("error:")]
    return found[0] if found else (lines[0] if lines else "invalid regex")


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with a quote."""
    text_cols = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.any_horizontal([pl.col(c).str.starts_with(s) for s in FORMULA_START]))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text_cols
    )


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``. A
    symbolic link is written through (its target is replaced, not the link); a path that
    is no regular file (a device such as ``/dev/null``, a named pipe) is written into,
    from the finished temporary file, never replaced."""
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    if path.exists() and not path.is_file() and not path.is_dir():
        _write_into(path, write)
        return
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise UsageError(f"cannot write here: {exc.strerror or exc}", str(path)) from exc
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write here: {exc.strerror or exc}", str(path)) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_into(path: Path, write: Callable[[Path], object]) -> None:
    """``write`` to a temporary file, then its bytes copied into ``path`` (opened for
    writing: a device or a pipe stays what it is)."""
    with tempfile.TemporaryDirectory(prefix="forensics-") as scratch:
        tmp = Path(scratch) / path.name
        write(tmp)
        try:
            with tmp.open("rb") as src, path.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except OSError as exc:
            raise UsageError(f"cannot write here: {exc.strerror or exc}", str(path)) from exc


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_frame(frame: pl.DataFrame, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        atomic_write(path, lambda tmp: frame.write_parquet(tmp))
    elif suffix == ".csv":
        safe = neutralise_formulas(frame)
        atomic_write(path, lambda tmp: safe.write_csv(tmp))
    elif suffix == ".json":
        atomic_write(path, lambda tmp: frame.write_json(tmp))
    elif suffix == ".ndjson":
        atomic_write(path, lambda tmp: frame.write_ndjson(tmp))
    else:
        raise UsageError(
            f"unknown output format {suffix or path.name!r}: use .parquet, .csv or .json"
        )


def print_frame(frame: pl.DataFrame, limit: int = 200) -> None:
    """A readable table on stdout (polars' own layout, as wide as the terminal)."""
    import shutil

    import click

    width = shutil.get_terminal_size((240, 40)).columns
    with pl.Config(
        tbl_rows=limit,
        tbl_cols=-1,
        fmt_str_lengths=160,
        tbl_width_chars=width,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
    ):
        click.echo(str(frame))
    more = f" (showing {limit}; use -o to export all)" if frame.height > limit else ""
    click.echo(f"{frame.height} rows{more}")
