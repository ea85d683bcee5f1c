"""Codes shared by the compiled kernels (:mod:`._kernels`, or their ahead-of-time build,
:mod:`.compiled`) and their caller (:mod:`.linescan`); importing this costs nothing."""

from __future__ import annotations

PARSED, CONTINUATION, SLOW = 0, 1, 2  # the kind of a line
MAX_COUNTER = 18  # digits that always fit an Int64
NO_MINUTE = -(1 << 62)  # the minute of lines before the first parsed line

# The order of the values in the first array that ``order`` returns.
STATS = (
    "backwards",
    "first_backwards",
    "first_parsed",
    "first_parsed_ts",
    "first_uptime",
    "first_uptime_ts",
    "first_uptime_value",
    "first_uptime_prev_ts",
    "has_first_uptime_prev",
    "last_uptime",
    "has_uptime",
    "last_ts",
    "ts_min",
    "ts_max",
)
