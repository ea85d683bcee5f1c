"""``--redact``: hosts, IPs and database names replaced by consistent pseudonyms (SPEC §9).

The mapping is built from what the bundle names (nodes, targets, leaves, partitions,
databases, and the database names log lines show in their SQL) and applied to the
report's values before any output is rendered, so HTML, JSON and Markdown agree and the
verdict is unchanged (only names change).

Only values that can carry a customer's name are rewritten: never a closed-vocabulary
value (role, status, phase, cause, kind ...), a rule's own text (title, explanation,
remediation, references; but for the tool's sample names that are databases of the
bundle) or a key the tool writes; a dict key that is a name (a dict keyed by database or
node) is. In free text a database named like a word of the tool's own wording
(``master``, ``status``, ``data``) is replaced where the text shows it as a name
(``master:3``, ``ON master``, ```master`.`t```, ``'master'``) and wherever the words
around it are not the tool's wording (:func:`tool_wording`); a name the tool's samples use
for a database (``sales``) never counts as its wording. In a path or a file name a
database that is a whole ``_``/``-``/``.`` part of a folder or file name is replaced
(``show_partitions_sales.txt``, ``sales_7_log_v1_31``), and the input itself is shown as
``bundle``.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from . import grammars
from .analysis import Report
from .bundle import below, common_root
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
# SingleStore's partition log and snapshot files are ``<db>_<ordinal>_log_v1_<n>`` and
# ``<db>_<ordinal>_snapshot_v1_<n>``: the database name is followed by more there.
_DB_AFTER = r"(?:(?=_\d+(?![\w$]))|(?=_\d+_(?:log|snapshot)_v\d)|(?![\w\-$]|\.\d))"
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
NAME_KEYED = frozenset(
    [
        "per_node_extra_bytes",  # node ->
        "node_timezones",  # node ->
        "zone_notes",  # node ->
        "node_skews",  # node ->
        "positions",  # (ordinal, node) ->
        "unseen",  # database ->
        "diff",  # database -> (Impact.diff)
    ]
)
#: A rule's own text: kept but for the sample names that are databases of the bundle.
RULE_TEXT = frozenset(["title", "explanation", "remediation"])
#: Fields that hold a role (``master``) in one place and a snapshot's name (a path) in
#: another (``snapshot_diff.before``): a value that looks like a path is redacted.
PATH_OR_KEEP = frozenset(["before", "after"])
#: The pseudonyms' own prefixes (``leaf-1``): a path pass never takes ``db`` in ``db-1``
#: for a database called ``db``.
_PSEUDONYM_PREFIXES = frozenset(["ma", "agg", "leaf", "host", "ip", "ip6", "db", "bundle"])
#: A token of text that may be a path: no space, quote or bracket.
_TOKEN = re.compile(r"[^\s'\"`<>()\[\]{},;|=*]+")
#: What ends a file's name in a token (``.txt``, ``.txt:12``, ``.txt#2``).
_FILE_NAME = re.compile(r"\.([A-Za-z0-9]{1,8})(?:[:#]\d+)?$")
#: A partition's log or snapshot file (``sales_7_log_v1_31``) also outside a path.
_PARTITION_FILE = re.compile(r"_\d+_(?:log|snapshot)_v\d")
#: Archive endings a bundle pseudonym keeps (the reader still sees what was given).
_ARCHIVE_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst", ".tgz", ".tar", ".zip", ".gz")
#: What the report says (assumptions; Markdown, HTML and terminal headers) when redacted.
REDACTION_NOTE = (
    "Redacted (--redact): host names, IP addresses and database names are pseudonyms "
    "(ma-N, agg-N, leaf-N, host-N, ip-N, db-N), also inside file paths. The input is shown "
    "as 'bundle' or 'bundle-N': its own name and the folders it is in are hidden; the "
    "folders inside it are shown, their host names replaced."
)


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
    # sample log lines (rule examples, grammar samples) are a customer's text, not the
    # tool's: "snapshot of sales:3" there must not make "snapshot of sales" its wording
    text = _SAMPLE_LINE.sub(" | ", _SAMPLE_MESSAGE.sub(" | ", text))
    return re.sub(r"\s+", " ", text).lower()


#: A sample log line in the tool's sources: a timestamp, then the rest of the string.
_SAMPLE_LINE = re.compile(
    r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?[^\"'\n]*(?:'[^'\"\n]*'[^\"'\n]*)*"
)


#: A grammar's sample message (``message = "Rebalance of sales aborted ..."``).
_SAMPLE_MESSAGE = re.compile(r"(?m)^\s*(?:message|masked)\s*=\s*(?:\"[^\"\n]*\"|'[^'\n]*')")


@cache
def _sample_databases() -> frozenset[str]:
    """Database names the tool's own samples and docstrings show (``sales``, ``orders``,
    ``crm``): a word of the tool only as a sample name, never one to keep for it."""
    package = Path(__file__).resolve().parent
    files = [p for p in package.rglob("*") if p.suffix in {".py", ".toml", ".j2"}]
    files += sorted(grammar_dir().glob("*.toml"))
    names: set[str] = set()
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        samples = _SAMPLE_LINE.findall(text) + _SAMPLE_MESSAGE.findall(text)
        for line in samples:
            names |= {n.lower() for n in line_databases(line)}
            names |= {m.lower() for m in _SAMPLE_PARTITION.findall(line)}
        names |= {n.lower() for n in re.findall(r"(?m)^\s*database\s*=\s*\"([^\"]+)\"", text)}
        for listed in re.findall(r"databases\s*=\s*\[([^\]]*)\]", text):
            names |= {n.lower() for n in re.findall(r"[\"']([^\"']+)[\"']", listed)}
    return frozenset(names)


_SAMPLE_PARTITION = re.compile(r"(?<![\w$.:\-])([A-Za-z_][\w$]*)(?::\d+(?![\d.:])|_\d+_log_v)")


@cache
def _tool_sites() -> frozenset[str]:
    """Hosts of the links the tool itself gives (documentation): not a customer's."""
    return frozenset(re.findall(r"https?://([a-z0-9.\-]+)", tool_wording()))


@cache
def _wording_words() -> frozenset[str]:
    """The words of the tool's wording; a name its samples show as a database is none
    (a customer's database called ``sales`` is always replaced)."""
    return frozenset(re.findall(r"[a-z0-9_$]+", tool_wording())) - _sample_databases()


class Redactor:
    """Names are matched whatever their case (``SDB-LEAF-4`` is ``sdb-leaf-4``); a host
    takes its domain with it (``sdb-leaf-4.corp.example.com``); IPv4 and IPv6 addresses
    become ``ip-N`` / ``ip6-N``; other host names ``host-xN``."""

    def __init__(
        self,
        hosts: dict[str, str],
        databases: dict[str, str],
        wording: str | None = None,
        inputs: dict[str, str] | None = None,
    ) -> None:
        """``inputs``: each path given on the command line (and the name the bundle's own
        paths start with) -> what the report shows instead (:func:`_inputs`)."""
        self.names = {k.lower(): v for k, v in {**hosts, **databases}.items()}
        self.inputs = {k: v for k, v in (inputs or {}).items() if k}
        given = sorted(self.inputs, key=lambda w: (-len(w), w))
        paths = "|".join(re.escape(w) for w in given if "/" in w) or "(?!x)x"
        bare = "|".join(re.escape(w) for w in given if "/" not in w) or "(?!x)x"
        # a path anywhere; a bare name (the bundle folder) where a path starts with it
        self.input_paths = re.compile(
            rf"(?<![\w.\-/~])(?:(?P<path>{paths})/?(?![\w.\-~])|(?P<bare>{bare})(?=/))"
        )
        self.cased = set(databases)
        self.seen: dict[str, bool] = {}
        self.wording = tool_wording() if wording is None else wording.lower()
        self.words = _wording_words() if wording is None else frozenset(self.wording.split())
        self.ips: dict[str, str] = {}
        self.others: dict[str, str] = {}  # host names that are no node (log text)
        self.hosts = self._pattern([h for h in hosts if not IPV4.fullmatch(h)], _DOMAIN)
        self.bare_hosts = self._pattern(list(hosts), "")
        self.databases = self._db_pattern(list(databases))
        samples = [d for d in databases if d.lower() in _sample_databases()]
        self.sample_databases = self._db_pattern(samples)
        words = sorted(set(databases), key=lambda w: (-len(w), w))
        body = "|".join(re.escape(w) for w in words) if words else r"(?!x)x"
        # a database name that is a whole ``_``/``-``/``.`` part of a file or folder name
        self.path_databases = re.compile(
            rf"(?<![^/_.\-#:\\])(?P<name>{body})(?![^/_.\-#:\\])", re.IGNORECASE
        )

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

    def rule_text(self, value: str) -> str:
        """A rule's own text (title, explanation, remediation) is kept, but for the names
        of its samples that are databases of this bundle too (a rule's example "OPTIMIZE
        TABLE sales.orders" must not show a customer's ``sales``)."""
        return self.sample_databases.sub(self._name, value)

    def is_name(self, value: str) -> bool:
        """``value`` is a name this redactor replaces (a database, a host, ``host:port``,
        an IP address)."""
        host = value.rsplit(":", 1)[0] if re.search(r":\d+$", value) else value
        return (
            value.lower() in self.names
            or host.lower() in self.names
            or bool(IPV4.fullmatch(host) or IPV6.fullmatch(host))
        )

    def _input(self, match: re.Match[str]) -> str:
        return self.inputs[match.group("path") or match.group("bare")]

    def _path_token(self, match: re.Match[str]) -> str:
        """A token that is a path or a file name, with the databases that are whole parts
        of its folder and file names replaced (``show_partitions_sales.txt``)."""
        token = match.group()
        ending = _FILE_NAME.search(token)
        if not (
            "/" in token
            or "\\" in token
            or (ending and ending.group(1).lower() in FILE_ENDINGS)
            or _PARTITION_FILE.search(token)
        ):
            return token
        link = re.match(r"[a-z][a-z0-9+.\-]*://([^/]+)", token, re.IGNORECASE)
        if link and link.group(1).lower() in _tool_sites():
            return token
        return self.path_databases.sub(self._path_database, token)

    def _path_database(self, match: re.Match[str]) -> str:
        name, text, end = match.group("name"), match.string, match.end()
        if name.lower() in _PSEUDONYM_PREFIXES and re.match(r"-\d", text[end:]):
            return name  # a pseudonym already (``db-1``, ``leaf-2``)
        extension = text[match.start() - 1 : match.start()] == "." and re.fullmatch(
            r"(?:[:#]\d+)?", text[end:]
        )
        if extension and name.lower() in FILE_ENDINGS:
            return name  # ``memsql.log`` for a database called ``log``
        if re.search(r"_\d+_$", text[: match.start()]) and re.match(r"_v\d", text[end:]):
            return name  # ``db_7_log_v1_31`` for a database called ``log``
        return self.names[name.lower()]

    def text(self, value: str) -> str:
        if self.inputs:
            value = self.inputs.get(value) or self.input_paths.sub(self._input, value)
        value = USER_AT_HOST.sub(self._user_host, value)
        value = self.hosts.sub(self._name, value)
        value = self.bare_hosts.sub(self._name, value)
        value = FQDN.sub(self._fqdn, value)
        value = self.databases.sub(self._database, value)
        if self.cased:
            value = _TOKEN.sub(self._path_token, value)
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
        if field in PATH_OR_KEEP and _looks_like_path(value):
            return r.text(value)
        if field in RULE_TEXT:
            return r.rule_text(value)
        if field in KEEP_FIELDS:
            return value
        return r.name(value) if field in NAME_FIELDS else r.text(value)
    if isinstance(value, pl.DataFrame):
        return _frame(value, r)
    if isinstance(value, dict):
        return {
            _key(k, r, field): _walk(v, r, k if isinstance(k, str) else field)
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


def _key(key: Any, r: Redactor, field: str | None) -> Any:
    """A dict's key: the dicts keyed by name (:data:`NAME_KEYED`) have theirs replaced;
    in any other dict a key that is a name the redactor knows is replaced too (a dict
    keyed by database or node that is not listed yet), unless it is a key the tool's own
    code writes (``"partitions"``, ``"cluster_status"``)."""
    if field in NAME_KEYED:
        return _walk(key, r, "node")
    if isinstance(key, str) and r.is_name(key) and key.lower() not in _tool_keys():
        return r.name(key)
    if isinstance(key, tuple):
        return tuple(_key(k, r, field) for k in key)
    return key


@cache
def _tool_keys() -> frozenset[str]:
    """The dict keys the tool's code writes (``"cluster_status": ...``)."""
    keys = re.findall(r"[\"']([a-z0-9_$]+)[\"'] ?:", tool_wording())
    return frozenset(keys) - _sample_databases()


def _looks_like_path(value: str) -> bool:
    ending = _FILE_NAME.search(value)
    return "/" in value or "#" in value or bool(ending and ending.group(1) in FILE_ENDINGS)


def _inputs(report: Report) -> dict[str, str]:
    """Each input path as given (and absolute) -> what a redacted report shows: a folder or
    an archive (the bundle; its name often names the customer or a database) becomes
    ``bundle`` (``bundle-N`` among several, an archive keeping its ending), and the name
    its members' paths start with too; a single file given shows its path in the bundle
    (whose names the path pass replaces)."""
    given = list(report.bundle.paths)
    root = common_root(given)
    out: dict[str, str] = {}
    for i, path_text in enumerate(given, start=1):
        path = Path(path_text)
        name = path.name or str(path)
        suffix = next((s for s in _ARCHIVE_SUFFIXES if name.lower().endswith(s)), "")
        inner = below(path, root) if root is not None else name
        if path.is_dir() or suffix or not path.exists():
            shown = ("bundle" if len(given) == 1 else f"bundle-{i}") + suffix
            out[inner or name] = shown
        else:
            shown = inner or name
        for form in (path_text, os.path.abspath(path_text)):
            if form.rstrip("/"):
                out[form.rstrip("/")] = shown
    return out


def redactor_for(report: Report) -> Redactor:
    return Redactor(_hosts(report), _databases(report), inputs=_inputs(report))


def redact_report(report: Report) -> Report:
    """A copy of ``report`` with every host, IP and database name pseudonymised, the
    input's name hidden, and :data:`REDACTION_NOTE` among its assumptions."""
    redacted: Report = _walk(report, redactor_for(report))
    return dataclasses.replace(redacted, assumptions=[*redacted.assumptions, REDACTION_NOTE])


def is_redacted(report: Report) -> bool:
    """Whether ``report`` went through :func:`redact_report` (its headers say so)."""
    return REDACTION_NOTE in report.assumptions


def names_in(report: Report) -> Iterable[str]:
    """The original names redaction hides (for tests)."""
    return [*_hosts(report), *_databases(report)]
