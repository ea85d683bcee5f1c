"""The normalised frames: the public data contract of the package (SPEC §3).

Each schema is declared once here; parsers build frames with exactly these columns in
this order (``conform`` enforces it) and tests assert them. Times are UTC-aware
microsecond datetimes once a bundle is loaded (the node's local time converted with the
time-zone assumption, SPEC §2.4); parsers may produce naive local times first.
"""

from __future__ import annotations

from typing import Any

import polars as pl


def make_schema(columns: dict[str, Any]) -> pl.Schema:
    return pl.Schema(columns)


UTC_US = pl.Datetime("us", "UTC")
LOCAL_US = pl.Datetime("us")

#: One row per kept tracelog line.
EVENTS = make_schema(
    {
        "node": pl.String,  # host:port (or the file's path when no identity is known)
        "file": pl.String,  # member path inside the bundle
        "line": pl.Int64,  # 1-based line number in that file
        "ts": UTC_US,  # node local time converted with the time-zone assumption
        "uptime_us": pl.Int64,  # microseconds since server start (null when absent)
        "level": pl.String,  # INFO / WARN / ERROR / FAILURE
        "thread": pl.Int64,  # "Thread N" id, null when absent
        "component": pl.String,  # function token after the thread designator
        "message": pl.String,  # the text after the level (context prefixes kept)
        "database": pl.String,  # database named by the line (partition db split off)
        "ordinal": pl.Int64,  # partition ordinal named by the line
        "action": pl.String,  # rebalance action named: COPY PARTITION, PROMOTE PARTITION ...
        "phase_kind": pl.String,  # copy / promote / drop, from action
        "step_event": pl.String,  # start / success / failure / rebalance_start / ... (grammars/messages.toml)
        "target": pl.String,  # host:port named by the line
        "error_code": pl.Int64,  # error number named by the line
    }
)

#: Per file, per minute, per level line counts (everything, kept or not).
LINE_COUNTS = make_schema(
    {
        "node": pl.String,
        "file": pl.String,
        "minute": UTC_US,
        "level": pl.String,
        "lines": pl.Int64,
    }
)

#: One row per rebalance step (status output, plan or reconstructed from logs).
STEPS = make_schema(
    {
        "database": pl.String,
        "action": pl.String,  # as written, upper case: PROMOTE PARTITION WITH DROP FORCE
        "phase_kind": pl.String,  # copy / promote / drop
        "ordinal": pl.Int64,
        "target": pl.String,  # host:port
        "phase": pl.Int64,  # engine phase number (orders the steps)
        "status": pl.String,  # scheduled / running / success / failed / cancelled / unknown
        "running_ms": pl.Int64,
        "started_at": UTC_US,
        "ended_at": UTC_US,
        "source": pl.String,  # file the row came from
        "origin": pl.String,  # status / plan / log / superseded (docs/CONTRACTS.md)
        "error": pl.String,  # error text the status output gives for the step (ERROR column
        # or the text after a status word: "Failed: Lock wait timeout ..."); null when none
        "row_line": pl.Int64,  # 1-based line of the row in its file (null: unknown, JSON)
        # number of the table the row came from among all tables read (input order): tells
        # apart two captures with one source (the same file path in two bundles)
        "capture": pl.Int64,
        # when the table the row came from was captured, as its file tells (the last
        # SELECT NOW() result, prompt stamp or `date` output before the statement):
        # the session's clock, naive; null when the file tells none
        "captured_at": LOCAL_US,
    }
)

#: One row per partition copy in a snapshot.
PARTITIONS = make_schema(
    {
        "database": pl.String,
        "ordinal": pl.Int64,  # null for a reference database copy
        "node": pl.String,  # host:port
        "role": pl.String,  # master / replica / orphan / reference
        "state": pl.String,
        "size_bytes": pl.Int64,
        "snapshot": pl.String,  # file (and table index) it came from: "path#n"
        "snapshot_kind": pl.String,  # partitions / cluster_status
        "position": pl.String,  # replication log position "<file id>:<offset>", when shown
        # 1-based line where the snapshot's table shows it was cut (no closing border, fewer
        # rows than announced, JSON cut short); null when complete. Rows it lacks are unknown.
        "truncated_at": pl.Int64,
        # when the snapshot was captured, as its file tells (see STEPS); null when unknown
        "captured_at": LOCAL_US,
        # the clock captured_at was read from (forensics.parsers.tables_model.Table): "server",
        # "client" or "UTC+hh:mm" when its zone is known; two captures are ordered by their
        # times only when their clocks compare (forensics.impact.capture_order)
        "capture_clock": pl.String,
        # the text right before the snapshot's table that says what it is ("Partitions
        # now:", "-- before the rebalance"); orders the tables of one file (forensics.impact)
        "caption": pl.String,
    }
)

#: One row per input member.
FILES = make_schema(
    {
        "path": pl.String,
        "kind": pl.String,  # memsql_log / rebalance_status / ... / unknown (comma list for multi-table files)
        "node": pl.String,
        "role": pl.String,  # node role when known
        "bytes": pl.Int64,
        "lines": pl.Int64,
        "unparsed_lines": pl.Int64,
        "first_ts": UTC_US,
        "last_ts": UTC_US,
        "skipped_reason": pl.String,
    }
)

#: SHOW LEAVES.
LEAVES = make_schema(
    {
        "node": pl.String,
        "availability_group": pl.Int64,
        "pair": pl.String,
        "state": pl.String,
        "source": pl.String,
    }
)

#: SHOW VARIABLES (only the names the analysis uses are needed, all are kept).
VARIABLES = make_schema(
    {"name": pl.String, "value": pl.String, "node": pl.String, "source": pl.String}
)

#: Disk usage per database (ordinal null) or per partition.
DISK_USAGE = make_schema(
    {
        "database": pl.String,
        "ordinal": pl.Int64,
        "node": pl.String,
        "size_bytes": pl.Int64,
        "source": pl.String,
    }
)

ALL = {
    "events": EVENTS,
    "line_counts": LINE_COUNTS,
    "steps": STEPS,
    "partitions": PARTITIONS,
    "files": FILES,
    "leaves": LEAVES,
    "variables": VARIABLES,
    "disk_usage": DISK_USAGE,
}


def empty(schema: pl.Schema) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def conform(df: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """Return ``df`` with exactly ``schema``'s columns, in order, cast; missing ones null."""
    cols = []
    for name, dtype in schema.items():
        if name in df.columns:
            cols.append(pl.col(name).cast(dtype, strict=False))
        else:
            cols.append(pl.lit(None, dtype=dtype).alias(name))
    return df.select(cols)
