"""A progress bar on a terminal, nothing when output is piped."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .loader import Progress


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
    ) as bar:
        task = bar.add_task("", total=None)

        def update(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=name.rsplit("/", 1)[-1])

        yield update
