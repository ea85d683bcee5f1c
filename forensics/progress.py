"""A progress bar on a terminal, nothing when output is piped."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from .loader import Progress


@contextmanager
def progress_reporter() -> Iterator[Progress | None]:
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import DownloadColumn, Progress as Bar, SpinnerColumn, TextColumn, TransferSpeedColumn

    with Bar(SpinnerColumn(), TextColumn("{task.description}"), DownloadColumn(),
             TransferSpeedColumn(), transient=True) as bar:
        task = bar.add_task("reading", total=None)
        state = {"path": "", "done": 0, "current": 0}

        def update(path: str, read: int) -> None:
            if path != state["path"]:
                state["done"] = int(state["done"]) + int(state["current"])
                state["path"], state["current"] = path, 0
            state["current"] = read
            name = path.rsplit("/", 1)[-1]
            bar.update(task, completed=int(state["done"]) + read, description=f"reading {name}")

        yield update
