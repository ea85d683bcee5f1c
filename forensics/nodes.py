"""Node identity and role from a member's path (SPEC §2.3).

Order: the command-line override ``--node GLOB=HOST:PORT`` (the user knows best); an
sdb-report node folder ``<host>-<ROLE>``; a path part ``<host>_<port>``, ``<host>:<port>``
or ``<host>-<port>``; a file name ``<host>_<port>_memsql.log``; else the file's path in the
bundle. Ticket folders (``INC-20417``, ``case-48213``, ``ticket_40211``) are not nodes.
A host found without a port is completed later from cluster tables (``resolve_ports``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ROLE_SUFFIXES = {
    "ma": "master_aggregator",
    "master": "master_aggregator",
    "masteraggregator": "master_aggregator",
    "master-aggregator": "master_aggregator",
    "ca": "child_aggregator",
    "aggregator": "child_aggregator",
    "childaggregator": "child_aggregator",
    "child-aggregator": "child_aggregator",
    "leaf": "leaf",
}

_HOST = r"(?:\d{1,3}(?:\.\d{1,3}){3}|[A-Za-z][A-Za-z0-9.\-]*?|[A-Za-z0-9][A-Za-z0-9.\-]*[A-Za-z][A-Za-z0-9.\-]*?)"
_NODE_FOLDER = re.compile(
    rf"^(?P<host>{_HOST})-(?P<role>MA|CA|LEAF|AGGREGATOR|MASTER|MasterAggregator|"
    r"master-aggregator|ChildAggregator|child-aggregator)$",
    re.IGNORECASE,
)
_HOST_PORT_PART = re.compile(rf"^(?P<host>{_HOST})(?P<sep>[_:\-])(?P<port>\d{{4,5}})$")
_HOST_PORT_FILE = re.compile(rf"^(?P<host>{_HOST})[_:\-](?P<port>\d{{4,5}})[_\-.]")


@dataclass(frozen=True)
class NodeId:
    node: str  # host:port, host alone (port unknown yet) or the member path
    role: str  # master_aggregator / child_aggregator / leaf / unknown
    host_only: bool = False
    from_path: bool = False  # no identity found: the node is the file's path


_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def _valid_port(port: str) -> bool:
    return 1024 <= int(port) <= 65535


def _plausible_host(host: str, separator: str) -> bool:
    """Ticket folders such as ``INC-20417``, ``CASE-881``, ``case-48213`` or
    ``ticket_40211`` are not ``host-port``."""
    if host.lower() in _TICKET_WORDS:
        return False
    if separator != "-":
        return True
    return bool(_IPV4.match(host)) or any(c.islower() for c in host)


#: Words that name a support case, not a host, in front of a number.
_TICKET_WORDS = frozenset(
    [
        "bug",
        "case",
        "cs",
        "escalation",
        "inc",
        "incident",
        "issue",
        "jira",
        "req",
        "request",
        "sf",
        "sr",
        "support",
        "task",
        "ticket",
        "zd",
        "zendesk",
    ]
)


def _clean_host(host: str) -> str:
    """``node-127.0.0.1`` (sdb-report folder style) is the host 127.0.0.1."""
    rest = host[5:] if host.lower().startswith("node-") else host
    return rest if _IPV4.match(rest) else host


def _from_parts(parts: list[str]) -> tuple[str | None, str | None, str]:
    host = port = None
    role = "unknown"
    for part in parts[:-1]:
        m = _NODE_FOLDER.match(part)
        if m:
            host = _clean_host(m["host"])
            role = ROLE_SUFFIXES.get(m["role"].lower(), "unknown")
            continue
        m = _HOST_PORT_PART.match(part)
        if m and _valid_port(m["port"]) and _plausible_host(m["host"], m["sep"]):
            host, port = _clean_host(m["host"]), m["port"]
    m = _HOST_PORT_FILE.match(parts[-1])
    # a file name <host>_<port>_memsql.log completes a node folder that gave no port
    if m and _valid_port(m["port"]) and port is None:
        host, port = _clean_host(m["host"]), m["port"]
    return host, port, role


def identify(inner: str, overrides: Mapping[str, str] | None = None) -> NodeId:
    """The node a member belongs to, from its path inside the bundle."""
    parts = [p for p in inner.split("/") if p]
    host, port, role = _from_parts(parts or [inner])
    for glob, node in (overrides or {}).items():
        if fnmatch.fnmatch(inner, glob) or fnmatch.fnmatch(parts[-1] if parts else inner, glob):
            return NodeId(node, role)
    if host is not None and port is not None:
        return NodeId(f"{host}:{port}", role)
    if host is not None:
        return NodeId(host, role, host_only=True)
    return NodeId(inner, role, from_path=True)


def parse_overrides(values: Iterable[str]) -> dict[str, str]:
    """``GLOB=HOST:PORT`` strings from the command line into a mapping."""
    out: dict[str, str] = {}
    for value in values:
        glob, sep, node = value.partition("=")
        if not sep or not glob or ":" not in node:
            raise ValueError(f"--node expects GLOB=HOST:PORT, got {value!r}")
        out[glob] = node
    return out


def resolve_ports(host: str, known_nodes: Iterable[str]) -> str:
    """Complete a bare host with its port when the cluster tables name exactly one."""
    ports = sorted(
        {n.rsplit(":", 1)[1] for n in known_nodes if n.rsplit(":", 1)[0] == host and ":" in n}
    )
    return f"{host}:{ports[0]}" if len(ports) == 1 else host
