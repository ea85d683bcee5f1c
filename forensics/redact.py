"""``--redact``: hosts, IPs and database names replaced by consistent pseudonyms (SPEC §9).

The mapping is built from what the bundle names (nodes, targets, leaves, partitions,
databases) and applied to every string of the report — frames, findings, evidence lines,
file paths — before any output is rendered, so HTML, JSON and Markdown agree and the
verdict is unchanged (only names change).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import Any

import polars as pl

from .analysis import Report

IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)")
# Full (eight groups) or compressed ("::") IPv6 addresses; times (10:00:20) have neither.
_H4 = r"[0-9A-Fa-f]{1,4}"
IPV6 = re.compile(
    rf"(?<![\w:])(?:(?:{_H4}:){{7}}{_H4}|(?:{_H4}:){{0,6}}(?:{_H4})?::(?:{_H4}:){{0,6}}{_H4})"
    r"(?![\w:])"
)
# A host's domain ("sdb-leaf-4.corp.example.com"): two or more dot-separated labels, the
# last one starting with a letter (one label could be a file name's ".log").
_DOMAIN = r"(?:\.[A-Za-z0-9-]+)+\.[A-Za-z][A-Za-z0-9-]*(?![A-Za-z0-9-])"
# Where a name may sit inside a longer token: sdb-report node folders are
# ``[node-]<host>-<ROLE>`` and other folders ``<host>-<port>`` (forensics/nodes.py), so
# ``-LEAF`` or ``-3306`` after a host and ``node-`` before it still delimit the name; a dot
# followed by a letter too (``db.table``, ``host.domain``), but not by a digit (longer IPs).
_ROLE_SUFFIX = (
    r"-(?i:MA|CA|LEAF|AGGREGATOR|MASTER|MasterAggregator|master-aggregator|"
    r"ChildAggregator|child-aggregator)(?![A-Za-z0-9])"
)
_BEFORE = r"(?:(?<![A-Za-z0-9.\-])|(?<=(?<![A-Za-z0-9.\-])node-))"
_PORT_SUFFIX = r"-\d{4,5}(?![0-9])"  # the `<host>-<port>` folder form (SPEC §2.3)
_AFTER = rf"(?:(?={_ROLE_SUFFIX}|{_PORT_SUFFIX})|(?![A-Za-z0-9\-]|\.[0-9]))"
#: A host name that is no node, named in log text ('dbops'@'jumpbox-3.corp.example'): a
#: dotted name whose last label is a usual domain suffix (file names have other endings).
FQDN = re.compile(
    r"(?<![\w.\-])[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]+)*"
    r"\.(?:com|net|org|io|internal|local|localdomain|lan|corp|example|intra|intranet|cloud|"
    r"private|svc|home|priv)(?![\w\-]|\.\w)",
    re.IGNORECASE,
)
NODE_PREFIX = "node-"
SYSTEM_DATABASES = {"cluster", "information_schema", "memsql", "sharding", "mysql"}
ROLE_PREFIX = {"master_aggregator": "ma", "child_aggregator": "agg", "leaf": "leaf"}


class Redactor:
    """Names are matched whatever their case (``SDB-LEAF-4`` is ``sdb-leaf-4``); a host
    takes its domain with it (``sdb-leaf-4.corp.example.com``); IPv4 and IPv6 addresses
    become ``ip-N`` / ``ip6-N``."""

    def __init__(self, hosts: dict[str, str], databases: dict[str, str]) -> None:
        self.names = {k.lower(): v for k, v in {**hosts, **databases}.items()}
        self.ips: dict[str, str] = {}
        self.others: dict[str, str] = {}  # host names that are no node (log text)
        self.hosts = self._pattern([h for h in hosts if not IPV4.fullmatch(h)], _DOMAIN)
        self.pattern = self._pattern([*hosts, *databases], "")

    @staticmethod
    def _pattern(names: list[str], tail: str) -> re.Pattern[str]:
        words = sorted(set(names), key=lambda w: (-len(w), w))
        body = "|".join(re.escape(w) for w in words) if words else r"(?!x)x"
        return re.compile(rf"{_BEFORE}(?P<name>{body}){tail}{_AFTER}", re.IGNORECASE)

    def _name(self, match: re.Match[str]) -> str:
        return self.names[match.group("name").lower()]

    def _ip(self, match: re.Match[str]) -> str:
        ip = match.group(0)
        if ip.lower() in self.names:
            return self.names[ip.lower()]
        return self.ips.setdefault(ip, f"ip-{len(self.ips) + 1}")

    def _ip6(self, match: re.Match[str]) -> str:
        ip = match.group(0).lower()
        return self.ips.setdefault(ip, f"ip6-{sum(k.count(':') > 1 for k in self.ips) + 1}")

    def _fqdn(self, match: re.Match[str]) -> str:
        name = match.group(0).lower()
        return self.others.setdefault(name, f"host-x{len(self.others) + 1}")

    def text(self, value: str) -> str:
        value = self.hosts.sub(self._name, value)
        value = self.pattern.sub(self._name, value)
        value = FQDN.sub(self._fqdn, value)
        value = IPV6.sub(self._ip6, value)
        return IPV4.sub(self._ip, value)


def _node_names(report: Report) -> set[str]:
    b = report.bundle
    nodes: set[str] = set(b.nodes.get_column("node").to_list())
    for frame, col in (
        (b.partitions, "node"),
        (b.steps, "target"),
        (b.leaves, "node"),
        (b.leaves, "pair"),
        (b.events, "target"),
        (b.files, "node"),
    ):
        nodes.update(v for v in frame.get_column(col).drop_nulls().unique().to_list() if v)
    return nodes


def _host_of(node: str) -> str | None:
    host = node.rsplit(":", 1)[0] if ":" in node else node
    return None if "/" in host or not host else host


def _hosts(report: Report) -> dict[str, str]:
    """host -> pseudonym; ``node-h`` and ``h`` (a node folder read two ways) share one."""
    b = report.bundle
    roles = dict(
        zip(b.nodes.get_column("node").to_list(), b.nodes.get_column("role").to_list(), strict=True)
    )
    host_roles: dict[str, str | None] = {}
    for node in sorted(_node_names(report)):
        host = _host_of(node)
        if host is not None and host_roles.get(host) is None:
            host_roles[host] = roles.get(node)

    def key(host: str) -> str:
        bare = host.removeprefix(NODE_PREFIX)
        return bare if bare != host and bare in host_roles else host

    by_key: dict[str, str] = {}
    for host, role in sorted(host_roles.items()):
        if role is not None or key(host) not in by_key:
            by_key[key(host)] = role or by_key.get(key(host)) or "leaf"
    counters: dict[str, int] = {}
    pseudonyms: dict[str, str] = {}
    for k, role in sorted(by_key.items(), key=lambda kv: (kv[1] != "master_aggregator", kv[0])):
        prefix = ROLE_PREFIX.get(role, "host")
        counters[prefix] = counters.get(prefix, 0) + 1
        pseudonyms[k] = f"{prefix}-{counters[prefix]}"
    return {host: pseudonyms[key(host)] for host in host_roles}


def _databases(report: Report) -> dict[str, str]:
    b = report.bundle
    names: set[str] = set()
    for frame in (b.partitions, b.steps, b.events, b.disk_usage):
        names.update(frame.get_column("database").drop_nulls().unique().to_list())
    names -= SYSTEM_DATABASES
    return {name: f"db-{i}" for i, name in enumerate(sorted(names), start=1)}


def _frame(df: pl.DataFrame, fn: Callable[[str], str]) -> pl.DataFrame:
    cols = [c for c, t in df.schema.items() if t == pl.String]
    return (
        df.with_columns(
            pl.col(c).map_elements(fn, return_dtype=pl.String, skip_nulls=True) for c in cols
        )
        if cols and df.height
        else df
    )


def _walk(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, pl.DataFrame):
        return _frame(value, fn)
    if isinstance(value, dict):
        return {_walk(k, fn): _walk(v, fn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_walk(v, fn) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _walk(getattr(value, f.name), fn) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    return value


def redact_report(report: Report) -> Report:
    """A copy of ``report`` with every host, IP and database name pseudonymised."""
    redactor = Redactor(_hosts(report), _databases(report))
    return _walk(report, redactor.text)


def names_in(report: Report) -> Iterable[str]:
    """The original names redaction hides (for tests)."""
    return [*_hosts(report), *_databases(report)]
