"""Classified tables -> the normalised frames of ``forensics.schemas`` (SPEC §3).

One converter per table kind; each reads cells through the canonical column names of
``grammars/tables.toml`` so that synonyms and unknown extra columns need no code.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import polars as pl

from .. import grammars, schemas
from .tables_model import Row, Table
from .tables_vocab import SizeColumn, Vocabulary, vocabulary

#: First word of a rebalance action -> phase kind (SPEC §4.1).
PHASE_KINDS: dict[str, str] = {"COPY": "copy", "PROMOTE": "promote", "DROP": "drop"}

#: Role and snapshot kind of the row that a database's declared partition count gives
#: (DISTRIBUTED_DATABASES.NUM_PARTITIONS): its last ordinal, held by no node. It tells the
#: impact how many partitions there are, so that missing last ones count as without a
#: master; it is never a copy.
DECLARED = "declared"

_FILTER = grammars.load("snapshots")["filter"]


def filter_of(statement: str | None) -> str:
    """The part of an echoed statement that keeps some rows only (its WHERE conditions
    other than the database's, or its LIMIT), "" for none (grammars/snapshots.toml
    [filter]): such a result is no snapshot of the cluster."""
    if not statement:
        return ""
    kept = []
    if where := re.search(_FILTER["where"], statement):
        for part in re.split(_FILTER["conjunct"], where.group("clause").strip()):
            if part.strip() and not re.match(_FILTER["database_only"], part):
                kept.append(part.strip())
    if limit := re.search(_FILTER["limit"], statement):
        kept.append(limit.group(0))
    return " AND ".join(kept)


#: Table kind -> (frame name, steps origin or partitions snapshot kind).
FRAME_OF_KIND: dict[str, tuple[str, str | None]] = {
    "rebalance_status": ("steps", "status"),
    "rebalance_plan": ("steps", "plan"),
    "partitions": ("partitions", "partitions"),
    "cluster_status": ("partitions", "cluster_status"),
    "leaves": ("leaves", None),
    "nodes": ("leaves", "nodes"),
    "aggregators": ("aggregators", None),
    "variables": ("variables", None),
    "disk_usage": ("disk_usage", None),
    "databases": ("partitions", DECLARED),
}

#: Table kind -> a second frame it feeds: MV_NODES lists leaves and aggregators.
ALSO_FRAME_OF_KIND: dict[str, tuple[str, str | None]] = {"nodes": ("aggregators", None)}

#: Status given to plan rows (EXPLAIN REBALANCE): steps that would run, none started.
PLAN_STATUS = "scheduled"

#: The aggregators (SHOW AGGREGATORS, MV_NODES rows of type MA/CA): their host:port,
#: which completes a port-less aggregator folder, and their role.
AGGREGATORS = pl.Schema({"node": pl.String, "role": pl.String, "source": pl.String})

FRAME_SCHEMAS: dict[str, pl.Schema] = {
    "steps": schemas.STEPS,
    "partitions": schemas.PARTITIONS,
    "leaves": schemas.LEAVES,
    "variables": schemas.VARIABLES,
    "disk_usage": schemas.DISK_USAGE,
    "aggregators": AGGREGATORS,
}

#: MV_NODES ``TYPE`` -> node role; a type not here is no leaf either.
NODE_TYPES = {"MA": "master_aggregator", "CA": "child_aggregator", "LEAF": "leaf"}

_PARTITION_DB = re.compile(r"^(.+)_(\d+)$")
_KNOWN_SPLIT_MAX = 1000  # a larger number is a name's (a year: sales_2024), not an ordinal


def to_int(text: str | None) -> int | None:
    """The integer of a cell; None when there is none or it does not fit 64 bits (the
    frames' integer columns)."""
    if text is None:
        return None
    try:
        value = int(text.strip())
    except ValueError:
        try:
            value = int(float(text.replace(",", "")))
        except (ValueError, OverflowError):
            return None
    return value if _INT64_MIN <= value <= _INT64_MAX else None


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def host_port(host: str | None, port: str | None) -> str | None:
    if not host:
        return None
    return f"{host}:{port}" if port else host


def lower(text: str | None) -> str | None:
    return text.strip().lower() if text else None


def phase_kind(action: str | None) -> str | None:
    return PHASE_KINDS.get(action.split()[0]) if action else None


class Cells:
    """Reads a table's cells by canonical column name."""

    def __init__(self, table: Table, vocab: Vocabulary) -> None:
        self.table = table
        self.map = vocab.canonical(table.columns)

    def __call__(self, row: Row, canonical: str) -> str | None:
        column = self.map.get(canonical)
        return row.get(column) if column is not None else None

    def has(self, canonical: str) -> bool:
        return canonical in self.map


class FrameBuilder:
    """Accumulates frame rows over many tables; ``frames()`` conforms them."""

    def __init__(self, tables: list[Table], vocab: Vocabulary | None = None) -> None:
        self.vocab = vocab or vocabulary()
        self.tables = tables
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in FRAME_SCHEMAS}
        self.known_dbs = self._known_databases()
        # status words, longest first (so "in progress" wins over a shorter word it opens with)
        self._status_words = sorted(self.vocab.statuses.items(), key=lambda item: -len(item[0]))
        self.node_ids = self._node_ids()
        self.ports = self._ports()
        # "path:line: what is wrong" about a cell's value (SPEC §9), each once (MV_NODES
        # feeds two frames)
        self.warnings: dict[str, None] = {}

    def frames(self) -> dict[str, pl.DataFrame]:
        converters: dict[str, Callable[[Table, Cells, str | None], Iterable[dict[str, Any]]]] = {
            "steps": self._steps,
            "partitions": self._partitions,
            "leaves": self._leaves,
            "variables": self._variables,
            "disk_usage": self._disk_usage,
            "aggregators": self._aggregators,
        }
        for number, table in enumerate(self.tables):
            for kinds in (FRAME_OF_KIND, ALSO_FRAME_OF_KIND):
                if table.kind not in kinds:
                    continue
                frame, detail = kinds[table.kind]
                rows = converters[frame](table, Cells(table, self.vocab), detail)
                if frame == "steps":
                    rows = ({**row, "capture": number} for row in rows)
                self.rows[frame].extend(rows)
        return {name: self._frame(name) for name in FRAME_SCHEMAS}

    def _frame(self, name: str) -> pl.DataFrame:
        schema = FRAME_SCHEMAS[name]
        rows = self.rows[name]
        data = {col: [row.get(col) for row in rows] for col in schema}
        for col, dtype in schema.items():
            if dtype == pl.Int64:
                data[col] = [self._int64(v, name, col) for v in data[col]]
        return schemas.conform(pl.DataFrame(data, schema=schema), schema)

    def _int64(self, value: Any, frame: str, column: str) -> Any:
        """``value``, or None (with a warning) for a whole number no 64-bit integer holds
        (damage: no size, ordinal or port is that large)."""
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            self.warnings.setdefault(
                f"{frame} {column}: {value} is out of range for a 64-bit integer: read as unknown"
            )
            return None
        return value

    # --- context shared by converters -------------------------------------------------

    def _known_databases(self) -> set[str]:
        known = {t.database for t in self.tables if t.database}
        for table in self.tables:
            cells = Cells(table, self.vocab)
            if table.kind in ("rebalance_status", "rebalance_plan", "partitions"):
                known.update(v for r in table.rows if (v := cells(r, "database")))
            elif table.kind == "cluster_status":
                known.update(
                    v
                    for r in table.rows
                    if (v := cells(r, "database")) and self.role(cells(r, "role")) == "reference"
                )
        return known

    def _node_ids(self) -> dict[str, str]:
        ids: dict[str, str] = {}
        for table in self.tables:
            cells = Cells(table, self.vocab)
            if cells.has("node_id") and cells.has("host"):
                for row in table.rows:
                    node, hp = (
                        cells(row, "node_id"),
                        host_port(cells(row, "host"), cells(row, "port")),
                    )
                    if node and hp:
                        ids.setdefault(node, hp)
        return ids

    def _ports(self) -> dict[str, set[str]]:
        """Host -> the ports the bundle's tables write next to it (host and port, target,
        pair columns; a JSON table's host:port node)."""
        ports: dict[str, set[str]] = {}
        pairs = (("host", "port"), ("target_host", "target_port"), ("pair_host", "pair_port"))
        for table in self.tables:
            cells = Cells(table, self.vocab)
            found = [(h, p) for h, p in pairs if cells.has(h) and cells.has(p)]
            for row in table.rows:
                for h, p in found:
                    host, port = (cells(row, h) or "").strip(), (cells(row, p) or "").strip()
                    if host and port.isdigit():
                        ports.setdefault(host, set()).add(port)
            host, _, port = (table.node or "").rpartition(":")
            if host and port.isdigit():
                ports.setdefault(host, set()).add(port)
        return ports

    def warn(self, table: Table, index: int, text: str) -> None:
        self.warnings.setdefault(f"{table.path}:{table.row_line(index)}: {text}")

    def endpoint(
        self, table: Table, index: int, host: str | None, port: str | None, column: str
    ) -> str | None:
        """``host:port`` of a row; a port left empty (``column`` has none on this row) is
        the one port the bundle gives that host elsewhere, else the host stays bare, with
        a warning."""
        if host and not port:
            known = self.ports.get(host.strip(), set())
            if len(known) == 1:
                return host_port(host, next(iter(known)))
            where = f"ports {', '.join(sorted(known))}" if known else "no port"
            self.warn(
                table,
                index,
                f"{column} of host {host} is empty and the bundle gives it {where}:"
                " the node is read as the host alone",
            )
        return host_port(host, port)

    def role(self, text: str | None) -> str | None:
        if not text or not text.strip():
            return None
        return self.vocab.roles.get(text.strip().lower(), text.strip().lower())

    def status(self, text: str | None) -> str:
        """The step status of a cell: its whole text, or the status word it opens with
        ("failed: Lock wait timeout exceeded (1205)", "Error 1205", "in progress (3/8)")."""
        if not text:
            return "unknown"
        cell = text.strip().lower()
        found = self.vocab.statuses.get(cell)
        if found is not None:
            return found
        opening = self._opening_word(cell)
        return opening[1] if opening else "unknown"

    def status_detail(self, text: str | None) -> str | None:
        """What a status cell says beyond its status word: the text after "Failed:"
        ("Failed: Leaf Error (...): Lock wait timeout ..."), or the whole cell when no ':'
        follows the word ("Error 1205 (HY000) ..."); None for a bare status word."""
        cell = (text or "").strip()
        if not cell or cell.lower() in self.vocab.statuses:
            return None
        opening = self._opening_word(cell.lower())
        if opening is None:
            return None
        rest = cell[len(opening[0]) :].lstrip()
        return (rest[1:].strip() or None) if rest.startswith(":") else cell

    def _opening_word(self, cell: str) -> tuple[str, str] | None:
        """(status word, status) of the status word a lower-case cell opens with."""
        for word, status in self._status_words:
            if cell.startswith(word) and not cell[len(word) : len(word) + 1].isalnum():
                return word, status
        return None

    def split_db(
        self, name: str, always: bool, siblings: Counter[str] | None = None
    ) -> tuple[str, int | None]:
        """``x_test_0`` -> (x_test, 0); a known bare database name is left whole.

        ``always``: every name is a partition database unless known (cluster status);
        a known name is one too when its prefix is also a known database and the number a
        partition's (below 1000): a copy ``shop_2`` on a leaf is shop:2 even where a
        database ``shop_2`` exists (whose own partitions are ``shop_2_0`` ...). Without
        ``always``, split only when the prefix is a known database or several names of
        the same table share it (``siblings``).
        """
        match = _PARTITION_DB.match(name)
        if match is None or to_int(match.group(2)) is None:
            return name, None
        prefix = match.group(1)
        if name in self.known_dbs:
            if always and prefix in self.known_dbs and int(match.group(2)) < _KNOWN_SPLIT_MAX:
                return prefix, int(match.group(2))
            return name, None
        if always or prefix in self.known_dbs or (siblings and siblings[prefix] > 1):
            return prefix, int(match.group(2))
        return name, None

    def node(self, table: Table, cells: Cells, row: Row, index: int) -> str | None:
        host, port = cells(row, "host"), cells(row, "port")
        if cells.has("port"):
            hp = self.endpoint(table, index, host, port, cells.map["port"])
        else:
            hp = host_port(host, port)
        if hp is None and (node_id := cells(row, "node_id")):
            hp = self.node_ids.get(node_id, f"node_id={node_id}")
        return hp or table.node

    # --- converters ---------------------------------------------------------------------

    def _steps(self, table: Table, cells: Cells, origin: str | None) -> Iterable[dict[str, Any]]:
        for index, row in enumerate(table.rows):
            action = " ".join((cells(row, "action") or "").split()).upper() or None
            cell = cells(row, "status") or cells(row, "state")  # (a client that says State)
            status = self.status(cell) if origin == "status" else PLAN_STATUS
            detail = self.status_detail(cell) if status == "failed" else None
            yield {
                "database": cells(row, "database") or table.database,
                "action": action,
                "phase_kind": phase_kind(action),
                "ordinal": to_int(cells(row, "ordinal")),
                "target": self.endpoint(
                    table,
                    index,
                    cells(row, "target_host"),
                    cells(row, "target_port"),
                    cells.map.get("target_port", "Target_Port"),
                ),
                "phase": to_int(cells(row, "phase")),
                "status": status,
                "running_ms": to_int(cells(row, "running_time")),
                "source": table.source,
                "origin": origin,
                "error": cells(row, "error") or detail,
                "row_line": table.row_line(index),
                "captured_at": table.captured_at,
            }

    def _partitions(self, table: Table, cells: Cells, kind: str | None) -> Iterable[dict[str, Any]]:
        snapshot = f"{table.path}#{table.index}"
        if kind != DECLARED and (kept := filter_of(table.statement)):
            self.warnings.setdefault(
                f"{table.path}:{table.line}: its query keeps some rows only ({kept}): "
                "a filtered look, not read as a snapshot of the partitions"
            )
            return
        cut = (table.cut_line or table.line) if table.truncated else None
        if kind == DECLARED:
            yield from self._declared(table, cells, snapshot)
            return
        if kind == "partitions" and self._unowned(table, cells):
            return  # one of several databases' (statements not matched): no single one's
        for index, row in enumerate(table.rows):
            role = self.role(cells(row, "role"))
            if kind == "partitions":
                database, ordinal = (
                    cells(row, "database") or table.database,
                    self.ordinal(table, cells, row, index),
                )
                if database is None and (named := cells(row, "partition_database")):
                    # "Partition_Database | sales_0": the database of the row
                    database, from_name = self.split_db(named, always=True)
                    ordinal = ordinal if ordinal is not None else from_name
            else:
                name = cells(row, "database")
                if name is None or name in self.vocab.system_databases:
                    continue
                database, ordinal = self.split_db(name, always=role != "reference")
            node = self.node(table, cells, row, index)
            if kind == "partitions" and ordinal is None and role != "reference":
                self.warn(
                    table,
                    index,
                    f"no ordinal on the {role or 'copy'} row of {node or 'an unknown node'}"
                    f" ({database or 'database unknown'}): kept as a copy of an unknown"
                    " partition, which counts in no partition's copies",
                )
            yield {
                "database": database,
                "ordinal": ordinal,
                "node": node,
                "role": role,
                "state": _state(cells(row, "state"), cells(row, "is_offline")),
                "position": cells(row, "position"),
                "snapshot": snapshot,
                "snapshot_kind": kind,
                "truncated_at": cut,
                "captured_at": table.captured_at,
                "capture_clock": table.capture_clock,
                "caption": table.caption,
            }

    @staticmethod
    def _unowned(table: Table, cells: Cells) -> bool:
        """A snapshot that any of several databases may own and whose rows name none:
        read as the bundle's only other database, it would invent partitions without a
        master (crm's 4 partitions read as shop's 8)."""
        named = cells.has("database") or cells.has("partition_database")
        return table.database is None and bool(table.candidates) and not named

    def _declared(self, table: Table, cells: Cells, snapshot: str) -> Iterable[dict[str, Any]]:
        for row in table.rows:
            name, count = cells(row, "database"), to_int(cells(row, "num_partitions"))
            if name is None or name in self.vocab.system_databases or not count or count < 1:
                continue
            yield {
                "database": name,
                "ordinal": count - 1,
                "node": None,
                "role": DECLARED,
                "state": None,
                "position": None,
                "snapshot": snapshot,
                "snapshot_kind": "partitions",
                "captured_at": table.captured_at,
                "capture_clock": table.capture_clock,
            }

    def ordinal(self, table: Table, cells: Cells, row: Row, index: int) -> int | None:
        """The ordinal cell of a row; a text that is no number is None, with a warning."""
        text = cells(row, "ordinal")
        ordinal = to_int(text)
        if ordinal is not None and ordinal < 0:
            ordinal = None  # (damage: partitions are numbered from 0)
        if ordinal is None and text is not None and text.strip():
            column = cells.map["ordinal"]
            self.warn(table, index, f"{column} {text.strip()!r} is no partition number")
        return ordinal

    def node_type(self, cells: Cells, row: Row) -> str | None:
        """The role MV_NODES gives a row (TYPE MA / CA / LEAF)."""
        return NODE_TYPES.get((cells(row, "node_type") or "").strip().upper())

    def _leaves(self, table: Table, cells: Cells, kind: str | None) -> Iterable[dict[str, Any]]:
        for index, row in enumerate(table.rows):
            if kind == "nodes" and self.node_type(cells, row) != "leaf":
                continue  # MV_NODES lists the aggregators too: they are no leaves
            yield {
                "node": self.node(table, cells, row, index),
                "availability_group": to_int(cells(row, "availability_group")),
                "pair": host_port(cells(row, "pair_host"), cells(row, "pair_port")),
                "state": lower(cells(row, "state")),
                "source": table.source,
            }

    def _aggregators(self, table: Table, cells: Cells, _: str | None) -> Iterable[dict[str, Any]]:
        for index, row in enumerate(table.rows):
            if cells.has("node_type"):  # MV_NODES: its MA and CA rows
                role = self.node_type(cells, row)
            else:  # SHOW AGGREGATORS: Master_Aggregator is 1 on the master's row
                master = (cells(row, "master_aggregator") or "").strip() == "1"
                role = "master_aggregator" if master else "child_aggregator"
            if role in ("master_aggregator", "child_aggregator"):
                node = self.node(table, cells, row, index)
                yield {"node": node, "role": role, "source": table.source}

    def _variables(self, table: Table, cells: Cells, _: str | None) -> Iterable[dict[str, Any]]:
        named = cells.has("variable_name")  # else SELECT @@global.redundancy_level
        for index, row in enumerate(table.rows):
            yield {
                "name": cells(row, "variable_name") if named else "redundancy_level",
                "value": cells(row, "value") if named else cells(row, "redundancy_level"),
                "node": self.node(table, cells, row, index),
                "source": table.source,
            }

    def _disk_usage(self, table: Table, cells: Cells, _: str | None) -> Iterable[dict[str, Any]]:
        size = self.vocab.size_column(table.columns)
        name_col = "partition_database" if cells.has("partition_database") else "database"
        names = [cells(row, name_col) for row in table.rows]
        siblings = Counter(m.group(1) for n in names if n and (m := _PARTITION_DB.match(n)))
        # TABLE_STATISTICS: a row per table and copy; one without an ordinal is a reference
        # table's copy (every node holds one), neither a partition's size nor the database's
        per_table = cells.has("table_name") and cells.has("ordinal")
        for index, (row, name) in enumerate(zip(table.rows, names, strict=True)):
            database, ordinal = (
                (name, None)
                if name is None
                else self.split_db(name, always=name_col == "partition_database", siblings=siblings)
            )
            if cells.has("ordinal"):
                ordinal = self.ordinal(table, cells, row, index)
                database = cells(row, "database") or database
                if per_table and ordinal is None:
                    continue
            yield {
                "database": database,
                "ordinal": ordinal,
                "node": self.node(table, cells, row, index),
                "size_bytes": self.size(table, row, index, size, database, ordinal),
                "source": table.source,
            }

    def size(
        self,
        table: Table,
        row: Row,
        index: int,
        size: SizeColumn | None,
        database: str | None,
        ordinal: int | None,
    ) -> int | None:
        """The bytes of a row's size cell; a text that is no size (``-5``) is unknown,
        with a warning naming its line."""
        if size is None:
            return None
        text = row.get(size.column)
        value, problem = self.vocab.read_size(text, size.multiplier)
        if problem is not None:
            of = f"{database}:{ordinal}" if ordinal is not None else database or "its database"
            self.warn(
                table,
                index,
                f"{size.column} {(text or '').strip()!r} {problem}: {of} taken as of unknown size",
            )
        return value


def to_frames(tables: list[Table], warnings: list[str] | None = None) -> dict[str, pl.DataFrame]:
    """steps / partitions / leaves / variables / disk_usage / aggregators frames, conformed;
    empty when nothing. ``warnings`` gets one ``path:line: what is wrong`` for each cell
    whose value was refused or completed (a negative size, a NULL ordinal, an empty port)."""
    builder = FrameBuilder(tables)
    frames = builder.frames()
    if warnings is not None:
        warnings.extend(builder.warnings)
    return frames


def _state(state: str | None, is_offline: str | None) -> str | None:
    """A copy's state; ``IS_OFFLINE`` = 1 (DISTRIBUTED_PARTITIONS) makes it offline."""
    if (is_offline or "").strip().lower() in ("1", "true", "yes"):
        return "offline"
    return lower(state)


def known_roles(frames: dict[str, pl.DataFrame]) -> dict[str, str]:
    """Node -> role the cluster tables give (``nodes.resolve_node``): aggregators by SHOW
    AGGREGATORS / MV_NODES, leaves by SHOW LEAVES, partition holders and step targets
    (which only leaves are)."""
    roles: dict[str, str] = {}
    for name, column in (("leaves", "node"), ("partitions", "node"), ("steps", "target")):
        for node in frames[name].get_column(column).drop_nulls().unique().to_list():
            roles[node] = "leaf"
    aggregators = frames["aggregators"]
    roles.update(zip(aggregators["node"].to_list(), aggregators["role"].to_list(), strict=True))
    return roles
