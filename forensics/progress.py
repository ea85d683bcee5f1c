"""A progress bar on a terminal, nothing when output is piped.

The bar is drawn on stderr, the stream whose terminal was checked: stdout may be the
report itself (``--format json > out.json``), which must get not a byte of the bar."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .loader import Progress

if TYPE_CHECKING:
    from rich.console import Console


def _stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def progress_reporter() -> Iterator[Progress | None]:
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import DownloadColumn, SpinnerColumn, TextColumn, TransferSpeedColumn
    from rich.progress import Progress as Bar

    with Bar(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        DownloadColumn(),
        TransferSpeedColumn(),
        transient=True,
        console=_stderr_console(),
    ) as bar:
        task = bar.add_task("reading", total=None)
        # bytes read so far per member: members of a directory are read in parallel
        read_by_path: dict[str, int] = {}

        def update(path: str, read: int) -> None:
            read_by_path[path] = read
            name = path.rsplit("/", 1)[-1]
            bar.update(task, completed=sum(read_by_path.values()), description=f"reading {name}")

        yield update


@contextmanager
def count_reporter(what: str) -> Iterator[Callable[[int, int, str], None] | None]:
    """A bar over a known number of inputs (scan), only on a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
    from rich.progress import Progress as Bar

    with Bar(
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        transient=True,
        console=_stderr_console(),
    ) as bar:
        task = bar.add_task("", total=None)

        def update(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=name.rsplit("/", 1)[-1])

        yield update
