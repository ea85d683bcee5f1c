"""Files that hold the lines of several nodes: which node wrote each line.

A tool that merges the logs of several containers or hosts into one file names each
line's source: ``docker compose logs`` puts the service in front of every line
(``memsql-leaf-1  | ``), ``kubectl logs --prefix`` the pod
(``[pod/node-memsql-cluster-leaf-ag1-0/node] ``): the ``source`` group of a
``[viewers]`` prefix in grammars/tracelog.toml; a log shipper's JSON objects name their
host in a field (``[json_lines] host_fields``). Read as one log, such a file mixes the
nodes' uptime counters (each switch of node reads as a restart) and puts every cause on one
node; so it is read as one tracelog per source (:func:`split`), each keeping the file's
line numbers, on the node its source names (``nodes.source_node``: the host, a pod or a
compose service, whose port the cluster tables give, as for a folder of that name).
A file whose lines all name one source (one host's journal, ``kubectl logs --prefix`` of
one pod) is one log, on the node that source names when no folder or file name names
one (:func:`sole_source`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

SOURCE_GROUP = "source"
_SOLE_LINES = 200  # the first lines that must agree on the one source of a file


@dataclass(frozen=True, eq=False)
class Part:
    """The lines of one source: ``text`` (joined, ending with a newline) and, for each, its
    1-based line number in the file (``lines``)."""

    source: str
    text: bytes
    lines: np.ndarray


def named_by_viewer(viewer: re.Pattern[bytes]) -> bool:
    """Whether the viewer prefix names each line's source (a ``source`` group)."""
    return SOURCE_GROUP in viewer.groupindex


def sole_source(head: bytes, viewer: re.Pattern[bytes]) -> str | None:
    """The source the ``viewer`` prefix names on the first lines of ``head`` (all but the
    last, which the end of the head may cut), when they name one and the same; None when
    they name none or several."""
    lines = head.split(b"\n")[:-1] or head.split(b"\n")
    named = {m[SOURCE_GROUP] for ln in lines[:_SOLE_LINES] if (m := viewer.match(ln))}
    names = {n.decode("utf-8", "replace").strip() for n in named if n}
    return names.pop() if len(names) == 1 and None not in named else None


def split(
    data: bytes, *, viewer: re.Pattern[bytes] | None = None, host_fields: Sequence[str] = ()
) -> list[Part] | None:
    """``data`` (UTF-8 lines) cut by the source of each line: the ``source`` group of
    ``viewer`` at the line's start, or the first of ``host_fields`` (dotted: a key with
    dots, else nested keys) that the file's JSON objects use as text. A line that names no
    source (a continuation line, a damaged object) goes with the line before it (the first
    lines: with the first source named). None when fewer than two sources are named."""
    text = data.decode("utf-8", errors="replace")
    lines = pl.Series("raw", text.split("\n"), dtype=pl.String)
    if data.endswith(b"\n"):
        lines = lines.head(-1)
    found: pl.Series | None
    if viewer is not None:
        prefix = viewer.pattern.decode().removeprefix("(?m)").removeprefix("^")
        found = lines.str.extract_groups(f"^(?:{prefix})").struct.field(SOURCE_GROUP)
    else:
        found = _json_hosts(lines, host_fields)
    if found is None:
        return None
    source = found.str.strip_chars().replace("", None).fill_null(strategy="forward")
    source = source.fill_null(strategy="backward")
    names = source.drop_nulls().unique(maintain_order=True)
    if names.len() < 2:
        return None
    parts = []
    for name in names.to_list():
        rows = (source == name).arg_true()
        joined = lines.gather(rows).str.join("\n").item()
        parts.append(Part(name, joined.encode() + b"\n", rows.to_numpy().astype(np.int64) + 1))
    return parts


def _json_hosts(lines: pl.Series, host_fields: Sequence[str]) -> pl.Series | None:
    """Each line's host: the first of ``host_fields`` that some line's object has."""
    for name in host_fields:
        paths = [f"$['{name}']"]
        if "." in name:
            paths.append("$." + name)
        values = pl.select(
            pl.coalesce([pl.lit(lines).str.json_path_match(p) for p in paths])
        ).to_series()
        if values.drop_nulls().len():
            return values
    return None
