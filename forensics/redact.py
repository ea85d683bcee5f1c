"""``--redact``: hosts, IPs and database names replaced by consistent pseudonyms (SPEC §9).

The mapping is built from what the bundle names (nodes, targets, leaves, partitions,
databases, and the database names log lines show in their SQL) and applied to the
report's values before any output is rendered, so HTML, JSON and Markdown agree and the
verdict is unchanged (only names change).

Only values that can carry a customer's name are rewritten: never a dict key, a
closed-vocabulary value (role, status, phase, cause, kind ...) or a rule's own text
(title, explanation, remediation, references). In free text a database named like a word
of the tool's own wording (``master``, ``status``, ``data``) is replaced where the text
shows it as a name (``master:3``, ``ON master``, ```master`.`t```, ``'master'``) and
wherever the words around it are not the tool's wording (:func:`tool_wording`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from . import grammars
from .analysis import Report
from .grammars import grammar_dir

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
# A database name is a whole identifier: ``_`` joins words (``cluster_status`` is no
# ``status``), except before a partition ordinal (``sales_7``, the partition database).
_DB_BEFORE = r"(?<![\w.\-$])"
_DB_AFTER = r"(?:(?=_\d+(?![\w$]))|(?![\w\-$]|\.\d))"
#: Where the text itself shows a database name: a partition (``db:3``, ``db_3``), a quoted
#: or backquoted identifier, ``db.`table```, or the SQL ``ON db`` / ``DATABASE db``.
_NAME_LEFT = re.compile(r"(?:[`'\"]|\b(?:ON|DATABASE|DATABASES|USE|database)\s+`?)$")
_NAME_RIGHT = re.compile(r"^(?:[`'\"]|[:_]\d|\.[`']|\.(?P<table>[A-Za-z_]\w*))")
_WORDS_BEFORE = re.compile(r"(?:[\w$]+[^\w$\n]*){0,2}$")
_WORDS_AFTER = re.compile(r"(?:[^\w$\n]*[\w$]+){0,2}")
#: A dotted host name in log text (``minio.acme.de``, ``sdb-leaf-7.acme.co.uk``): labels
#: of letters, digits and ``-``, the last one starting with a letter.
FQDN = re.compile(
    r"(?<![\w.\-])(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9\-]*"
    r"[A-Za-z0-9](?![\w\-]|\.\w)"
)
#: Endings that make a dotted name a file, not a host (``memsql.log``, ``report.tar.gz``).
FILE_ENDINGS = frozenset(
    [
        "log",
        "txt",
        "gz",
        "tgz",
        "zip",
        "tar",
        "json",
        "csv",
        "tsv",
        "html",
        "htm",
        "md",
        "py",
        "toml",
        "sql",
        "out",
        "err",
        "cnf",
        "conf",
        "cfg",
        "ini",
        "yaml",
        "yml",
        "xml",
        "parquet",
        "j2",
        "bak",
        "old",
        "pid",
        "sh",
        "cpp",
        "cc",
        "h",
        "hpp",
        "so",
        "jar",
        "pem",
        "crt",
        "key",
    ]
)
#: Two labels are a host only with a usual domain ending (``e.g``, ``db.table`` are not).
DOMAIN_ENDINGS = frozenset(
    [
        "com",
        "net",
        "org",
        "io",
        "info",
        "biz",
        "co",
        "me",
        "dev",
        "app",
        "de",
        "uk",
        "fr",
        "nl",
        "ch",
        "at",
        "eu",
        "us",
        "ca",
        "au",
        "jp",
        "cn",
        "in",
        "ru",
        "br",
        "it",
        "es",
        "se",
        "no",
        "dk",
        "fi",
        "pl",
        "be",
        "cz",
        "ie",
        "nz",
        "internal",
        "local",
        "localdomain",
        "lan",
        "corp",
        "example",
        "intra",
        "intranet",
        "cloud",
        "private",
        "svc",
        "home",
        "priv",
    ]
)
#: ``user@host`` and ``'user'@'host'`` (a short host name, no domain).
USER_AT_HOST = re.compile(
    r"(?<=@)(?P<q>['`\"]?)(?P<host>[A-Za-z0-9][A-Za-z0-9\-]*)(?P=q)(?![\w.\-@])"
)
#: Database names the SQL in a log line shows: ```hr_private`.`employees```,
#: ``BACKUP DATABASE Finance_2024``, ``SHOW PARTITIONS ON sales``, ``Query sales.'...'``
#: (grammars/messages.toml [redact]).
_REDACT = grammars.load("messages")["redact"]
LOG_DATABASE = re.compile(_REDACT["log_database"])
#: The lines :data:`LOG_DATABASE` may match (a Polars filter: no look-around there).
_LOG_DATABASE_HINT: str = _REDACT["hint"]
#: Words after ``DATABASE`` that are SQL, not a name.
_SQL_WORDS = frozenset(_REDACT["sql_words"])
NODE_PREFIX = "node-"
SYSTEM_DATABASES = {"cluster", "information_schema", "memsql", "sharding", "mysql"}
ROLE_PREFIX = {"master_aggregator": "ma", "child_aggregator": "agg", "leaf": "leaf"}
#: Fields whose value is the tool's: a closed vocabulary or a rule's own text.
KEEP_FIELDS = frozenset(
    [
        "role",
        "status",
        "phase",
        "failed_phase",
        "cause",
        "factor",
        "kind",
        "severity",
        "outcome",
        "basis",
        "origin",
        "action",
        "phase_kind",
        "level",
        "rule",
        "id",
        "finding",
        "title",
        "explanation",
        "remediation",
        "references",
        "schema",
        "tool_version",
        "timezone",
        "state",
        "snapshot_kind",
        "step_event",
        "component",
        "before",
        "after",
        "name",
    ]
)
#: Fields whose value is one name (a database, a node ``host:port``).
NAME_FIELDS = frozenset(
    ["database", "node", "target", "pair", "master_aggregator", "host", "rebalance"]
)
#: Dicts keyed by node (their keys are names; every other dict key is the tool's).
NAME_KEYED = frozenset(["per_node_extra_bytes", "node_timezones", "positions"])


@cache
def tool_wording() -> str:
    """The tool's own text (package sources, grammars, rules), lower case, one space
    between words: a phrase found in it is the tool's wording, not a customer's name."""
    package = Path(__file__).resolve().parent
    files = [p for p in package.rglob("*") if p.suffix in {".py", ".toml", ".j2"}]
    files += sorted(grammar_dir().glob("*.toml"))
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in sorted(files))
    text = re.sub(r"(?m)^\s*#.*$", "", text)  # comments (sample names live there)
    text = re.sub(r"[\"']\s*\n\s*(?:rf|fr|f|r)?[\"']", "", text)  # "a " "b" string joins
    return re.sub(r"\s+", " ", text).lower()


@cache
def _tool_sites() -> frozenset[str]:
    """Hosts of the links the tool itself gives (documentation): not a customer's."""
    return frozenset(re.findall(r"https?://([a-z0-9.\-]+)", tool_wording()))


@cache
def _wording_words() -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9_$]+", tool_wording()))


class Redactor:
    """Names are matched whatever their case (``SDB-LEAF-4`` is ``sdb-leaf-4``); a host
    takes its domain with it (``sdb-leaf-4.corp.example.com``); IPv4 and IPv6 addresses
    become ``ip-N`` / ``ip6-N``; other host names ``host-xN``."""

    def __init__(
        self, hosts: dict[str, str], databases: dict[str, str], wording: str | None = None
    ) -> None:
        self.names = {k.lower(): v for k, v in {**hosts, **databases}.items()}
        self.cased = set(databases)
        self.seen: dict[str, bool] = {}
        self.wording = tool_wording() if wording is None else wording.lower()
        self.words = _wording_words() if wording is None else frozenset(self.wording.split())
        self.ips: dict[str, str] = {}
        self.others: dict[str, str] = {}  # host names that are no node (log text)
        self.hosts = self._pattern([h for h in hosts if not IPV4.fullmatch(h)], _DOMAIN)
        self.bare_hosts = self._pattern(list(hosts), "")
        self.databases = self._db_pattern(list(databases))

    @staticmethod
    def _pattern(names: list[str], tail: str) -> re.Pattern[str]:
        words = sorted(set(names), key=lambda w: (-len(w), w))
        body = "|".join(re.escape(w) for w in words) if words else r"(?!x)x"
        return re.compile(rf"{_BEFORE}(?P<name>{body}){tail}{_AFTER}", re.IGNORECASE)

    @staticmethod
    def _db_pattern(names: list[str]) -> re.Pattern[str]:
        words = sorted(set(names), key=lambda w: (-len(w), w))
        body = "|".join(re.escape(w) for w in words) if words else r"(?!x)x"
        return re.compile(rf"{_DB_BEFORE}(?P<name>{body}){_DB_AFTER}", re.IGNORECASE)

    def _name(self, match: re.Match[str]) -> str:
        return self.names[match.group("name").lower()]

    def _database(self, match: re.Match[str]) -> str:
        """A database name, unless it is also a word of the tool's and stands as one:
        written in another case (database names are case-sensitive: ``COPY`` is no
        ``copy``), or among words found as they stand in :func:`tool_wording` ("the
        master aggregator", "Verify data safety", "SHOW REBALANCE STATUS ON")."""
        name = match.group("name")
        pseudonym = self.names[name.lower()]
        if name.lower() not in self.words or self._shown_as_name(match):
            return pseudonym
        if name not in self.cased or self._is_wording(match):
            return name
        return pseudonym

    def _is_wording(self, match: re.Match[str]) -> bool:
        """Three words, the name among them, are a phrase of the tool's own text."""
        text, start, end = match.string, match.start(), match.end()
        before = _WORDS_BEFORE.search(text[max(start - 80, 0) : start])
        after = _WORDS_AFTER.match(text[end : end + 80])
        left = re.findall(r"[\w$]+[^\w$\n]*", before.group() if before else "")
        right = re.findall(r"[^\w$\n]*[\w$]+", after.group() if after else "")
        name = match.group("name")
        phrases = [
            "".join(left[-1:]) + name + "".join(right[:1]) if left and right else "",
            "".join(left[-2:]) + name if len(left) == 2 else "",
            name + "".join(right[:2]) if len(right) == 2 else "",
        ]
        return any(p and self._said(re.sub(r"\s+", " ", p).lower()) for p in phrases)

    def _said(self, phrase: str) -> bool:
        """``phrase`` is in the tool's wording (remembered: a log repeats its phrases)."""
        if phrase not in self.seen:
            self.seen[phrase] = phrase in self.wording
        return self.seen[phrase]

    @staticmethod
    def _shown_as_name(match: re.Match[str]) -> bool:
        text, start, end = match.string, match.start(), match.end()
        if _NAME_LEFT.search(text[max(start - 12, 0) : start]):
            return True
        right = _NAME_RIGHT.match(text[end : end + 64])
        if right is None:
            return False
        return (right["table"] or "").lower() not in FILE_ENDINGS

    def _ip(self, match: re.Match[str]) -> str:
        ip = match.group(0)
        if ip.lower() in self.names:
            return self.names[ip.lower()]
        return self.ips.setdefault(ip, f"ip-{len(self.ips) + 1}")

    def _ip6(self, match: re.Match[str]) -> str:
        ip = match.group(0).lower()
        return self.ips.setdefault(ip, f"ip6-{sum(k.count(':') > 1 for k in self.ips) + 1}")

    def _other(self, name: str) -> str:
        return self.others.setdefault(name.lower(), f"host-x{len(self.others) + 1}")

    def _fqdn(self, match: re.Match[str]) -> str:
        """A dotted name that is no file (``.log``), no ``db.table`` and not the tool's
        own (a link's ``docs.singlestore.com``) is a host name."""
        name = match.group(0)
        labels = name.lower().split(".")
        if (
            labels[-1] in FILE_ENDINGS
            or (len(labels) == 2 and labels[-1] not in DOMAIN_ENDINGS)
            or name.lower() in _tool_sites()
            or IPV4.fullmatch(name)
        ):
            return name
        return self._other(name)

    def _user_host(self, match: re.Match[str]) -> str:
        host, quote = match.group("host"), match.group("q")
        if host.lower() == "localhost" or host.isdigit():
            return match.group(0)
        return f"{quote}{self.names.get(host.lower()) or self._other(host)}{quote}"

    def name(self, value: str) -> str:
        """A value that is one name (a ``database`` or ``node`` field)."""
        return self.names.get(value.lower()) or self.text(value)

    def text(self, value: str) -> str:
        value = USER_AT_HOST.sub(self._user_host, value)
        value = self.hosts.sub(self._name, value)
        value = self.bare_hosts.sub(self._name, value)
        value = FQDN.sub(self._fqdn, value)
        value = self.databases.sub(self._database, value)
        value = IPV6.sub(self._ip6, value)
        return IPV4.sub(self._ip, value)


def _node_names(report: Report) -> dict[str, str | None]:
    """Every node a frame names, with the role it has when it is a known node: a
    partition's node, a step's target and a ``SHOW LEAVES`` row are leaves; a host only
    a log line or a file names is just a host (``host-N``)."""
    b = report.bundle
    roles = dict(
        zip(b.nodes.get_column("node").to_list(), b.nodes.get_column("role").to_list(), strict=True)
    )
    nodes: dict[str, str | None] = {}
    for frame, col, default in (
        (b.events, "target", None),
        (b.files, "node", None),
        (b.partitions, "node", "leaf"),
        (b.steps, "target", "leaf"),
        (b.leaves, "node", "leaf"),
        (b.leaves, "pair", "leaf"),
    ):
        for v in frame.get_column(col).drop_nulls().unique().to_list():
            if v:
                nodes[v] = default or nodes.get(v)
    for node, role in roles.items():
        nodes[node] = role if role and role != "unknown" else nodes.get(node)
    return nodes


def _host_of(node: str) -> str | None:
    host = node.rsplit(":", 1)[0] if ":" in node else node
    return None if "/" in host or not host else host


def _hosts(report: Report) -> dict[str, str]:
    """host -> pseudonym; ``node-h`` and ``h`` (a node folder read two ways) share one."""
    host_roles: dict[str, str | None] = {}
    for node, role in sorted(_node_names(report).items()):
        host = _host_of(node)
        if host is not None and host_roles.get(host) is None:
            host_roles[host] = role

    def key(host: str) -> str:
        bare = host.removeprefix(NODE_PREFIX)
        return bare if bare != host and bare in host_roles else host

    by_key: dict[str, str] = {}
    for host, role in sorted(host_roles.items()):
        if role is not None or key(host) not in by_key:
            by_key[key(host)] = role or by_key.get(key(host)) or "unknown"
    counters: dict[str, int] = {}
    pseudonyms: dict[str, str] = {}
    for k, role in sorted(by_key.items(), key=lambda kv: (kv[1] != "master_aggregator", kv[0])):
        prefix = ROLE_PREFIX.get(role, "host")
        counters[prefix] = counters.get(prefix, 0) + 1
        pseudonyms[k] = f"{prefix}-{counters[prefix]}"
    return {host: pseudonyms[key(host)] for host in host_roles}


def _log_databases(report: Report) -> set[str]:
    """Database names only the SQL of a log line (or a status row's error) shows: the
    lines are picked by a Polars filter, the few that match are read one by one."""
    b = report.bundle
    texts = [
        b.events.get_column("message"),
        b.steps.get_column("error"),
    ]
    names: set[str] = set()
    for column in texts:
        lines = column.drop_nulls()
        for line in lines.filter(lines.str.contains(_LOG_DATABASE_HINT)).unique().to_list():
            names |= line_databases(line)
    return names


def line_databases(line: str) -> set[str]:
    """The database names the SQL in one log line shows (:data:`LOG_DATABASE`), a
    partition database's (``orders_3``) as its database's."""
    found = (next(g for g in m.groups() if g) for m in LOG_DATABASE.finditer(line))
    return {re.sub(r"_\d+$", "", name) for name in found if name.upper() not in _SQL_WORDS}


def _databases(report: Report) -> dict[str, str]:
    b = report.bundle
    names: set[str] = set()
    for frame in (b.partitions, b.steps, b.events, b.disk_usage):
        names.update(frame.get_column("database").drop_nulls().unique().to_list())
    names |= _log_databases(report)
    names = {n for n in names if n and n.lower() not in SYSTEM_DATABASES}
    # a partition database (``orders_3``) goes with its database's pseudonym (``db-1_3``)
    names -= {n for n in names if re.sub(r"_\d+$", "", n) in names - {n}}
    return {name: f"db-{i}" for i, name in enumerate(sorted(names), start=1)}


def _frame(df: pl.DataFrame, r: Redactor) -> pl.DataFrame:
    """Each string column by what its name says it holds (see :func:`_walk`)."""
    cols = [c for c, t in df.schema.items() if t == pl.String and c not in KEEP_FIELDS]
    if not cols or not df.height:
        return df
    return df.with_columns(
        pl.col(c).map_elements(
            r.name if c in NAME_FIELDS else r.text, return_dtype=pl.String, skip_nulls=True
        )
        for c in cols
    )


def _walk(value: Any, r: Redactor, field: str | None = None) -> Any:
    """``value`` with its names replaced; ``field`` is the name of the field or key that
    holds it: a closed-vocabulary or rule-text field is kept, a name field is read as
    one name, anything else as free text. Dict keys are the tool's, except for the
    dicts keyed by node."""
    if isinstance(value, str):
        if field in KEEP_FIELDS:
            return value
        return r.name(value) if field in NAME_FIELDS else r.text(value)
    if isinstance(value, pl.DataFrame):
        return _frame(value, r)
    if isinstance(value, dict):
        return {
            (_walk(k, r, "node") if field in NAME_KEYED else k): _walk(
                v, r, k if isinstance(k, str) else field
            )
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(_walk(v, r, field) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _walk(getattr(value, f.name), r, f.name) for f in dataclasses.fields(value)
        }
        return dataclasses.replace(value, **changes)
    return value


def redactor_for(report: Report) -> Redactor:
    return Redactor(_hosts(report), _databases(report))


def redact_report(report: Report) -> Report:
    """A copy of ``report`` with every host, IP and database name pseudonymised."""
    return _walk(report, redactor_for(report))


def names_in(report: Report) -> Iterable[str]:
    """The original names redaction hides (for tests)."""
    return [*_hosts(report), *_databases(report)]
