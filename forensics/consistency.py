"""Cross-file checks on a loaded bundle (SPEC §9): rotated logs that overlap in time.

A node's rotated logs (``memsql.log``, ``memsql.log.1``, ...) normally follow each other;
when two of them cover the same time (a file copied twice under different names, logs
collected from a node twice, a clock stepped back across a rotation) their lines are
merged by time and may be counted twice. That is reported, never silently merged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

TRACELOG = "memsql_log"


def _read_logs(files: pl.DataFrame) -> pl.DataFrame:
    return files.filter(
        (pl.col("kind") == TRACELOG)
        & pl.col("skipped_reason").is_null()
        & pl.col("node").is_not_null()
        & pl.col("first_ts").is_not_null()
        & pl.col("last_ts").is_not_null()
    ).sort(["node", "first_ts", "path"])


def _overlap(first: dict[str, Any], second: dict[str, Any]) -> str:
    end = min(first["last_ts"], second["last_ts"])
    start, stop = _iso(second["first_ts"]), _iso(end)
    return (
        f"{second['path']}: overlaps {first['path']} in time on node {second['node']} "
        f"({start} to {stop}); lines of both are merged by time and may be counted twice"
    )


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def overlap_warnings(files: pl.DataFrame) -> list[str]:
    """One warning per tracelog that starts before an earlier log of the same node ends."""
    warnings: list[str] = []
    for group in _read_logs(files).partition_by("node", maintain_order=True):
        rows = group.to_dicts()
        latest = rows[0]
        for row in rows[1:]:
            if row["first_ts"] < latest["last_ts"]:
                warnings.append(_overlap(latest, row))
            if row["last_ts"] > latest["last_ts"]:
                latest = row
    return warnings
