"""Node identity and role from a member's path (SPEC §2.3).

Order: the command-line override ``--node GLOB=HOST:PORT`` (the user knows best); an
sdb-report node folder ``<host>-<ROLE>`` (ROLE as sdb-report writes it: ``MA``, ``LEAF``,
...; a host called ``sg-ma`` keeps its name); a path part ``<host>_<port>``,
``<host>:<port>`` or ``<host>-<port>``; a file name ``<host>_<port>_memsql.log``; a folder
named by the host (``10.5.0.13/``, ``db-leaf-07.corp.example/``), the nearest one above the
file once layout folders (``tracelogs/``, ``var/lib/memsql/<node id>/``: a data folder's id,
hexadecimal, a UUID or the operator's ``instance``, is never a host) are passed; else
the file's path in the bundle, rotations left out (``memsql.log.1``, ``memsql.log.2.gz``
and ``memsql.log`` of one folder are one node). An archive of the bundle counts as a folder
of its name without the suffix (``ip-10-0-1-14.tar.gz`` as ``ip-10-0-1-14/``, see
forensics/bundle.py): a per-node archive names its node. Ticket folders (``INC-20417``,
``case-48213``, ``ticket_40211``) and report folders (``report-2026-03-02T101530``) are
not nodes. A host found without a port is the node ``host`` until the cluster tables
complete it (``resolve_ports``), as for an sdb-report folder. A log named by its host
alone (``sdb-ma-01_memsql.log``) names that host, as a folder would.

Where the parts of a path name different nodes (a folder ``sdb-leaf-4-LEAF`` holding
``10.20.0.24_3306_memsql.log``), the names after the first are kept (``NodeId.others``):
the first one the cluster tables know is the node (:func:`chosen_node`), else the order
above holds. A host folder farther up than the one naming the node (the per-node archive
``ip-10-0-1-14.tar.gz`` holding ``home/admin/tracelogs/memsql.log``) is such a name too
(``NodeId.outer``): the tables may know it, and logs under different ones are never one
node by the inner folder name they share (``loader._apart``).

A file holding the lines of several nodes (``docker compose logs``, ``kubectl logs
--prefix``: forensics/parsers/sources.py) is read as one log per source: the source names
the host (:func:`source_node`; a compose replica ``<service>-<n>`` may be its service). An address spelled with dashes (``node-10-20-0-24``, ``ip-10-20-0-24``) is
read as the address only to compare with another name (:func:`same_host`): it becomes
the tables' node, or joins a file name that spells the address with dots.
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

_HOST = r"(?:\d{1,3}(?:[.\-]\d{1,3}){3}|[A-Za-z][A-Za-z0-9.\-]*?|[A-Za-z0-9][A-Za-z0-9.\-]*[A-Za-z][A-Za-z0-9.\-]*?)"
# Case matters: sdb-report writes the role in capitals (``leaf-1-LEAF``) and a host may
# well be called ``sg-ma`` or ``prod-analytics-leaf``.
_NODE_FOLDER = re.compile(
    rf"^(?P<host>{_HOST})-(?P<role>MA|CA|LEAF|AGGREGATOR|MASTER|MasterAggregator|"
    r"master-aggregator|ChildAggregator|child-aggregator)$"
)
_HOST_PORT_PART = re.compile(rf"^(?P<host>{_HOST})(?P<sep>[_:\-])(?P<port>\d{{4,5}})$")
_HOST_PORT_FILE = re.compile(rf"^(?P<host>{_HOST})[_:\-](?P<port>\d{{4,5}})[_\-.]")
#: A log named by its host alone (``sdb-ma-01_memsql.log``), rotations taken off.
_HOST_FILE = re.compile(rf"^(?P<host>{_HOST})[_\-.](?:memsql|singlestore)\.log$", re.IGNORECASE)
# Kubernetes names (DNS labels, a pod's may hold dots) as the kubelet lays out container
# logs: ``/var/log/pods/<namespace>_<pod>_<pod uid>/<container>/0.log`` and the links
# ``/var/log/containers/<pod>_<namespace>_<container>-<container id>.log``. A pod runs
# one node (the operator's ``node-<cluster>-leaf-ag1-0``), which the cluster tables name
# ``<pod>.<service>:3306``: the pod is the node's host.
_K8S_NAME = r"[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?"
_K8S_POD_FOLDER = re.compile(
    rf"^{_K8S_NAME}_(?P<pod>{_K8S_NAME})_[0-9a-f]{{8}}(?:-[0-9a-f]{{4}}){{3}}-[0-9a-f]{{12}}$"
)
_K8S_CONTAINER_LOG = re.compile(
    rf"^(?P<pod>{_K8S_NAME})_{_K8S_NAME}_{_K8S_NAME}-[0-9a-f]{{64}}\.log(?:[.\-_].*)?$"
)


@dataclass(frozen=True)
class NodeId:
    node: str  # host:port, host alone (port unknown yet) or the member path
    role: str  # master_aggregator / child_aggregator / leaf / unknown
    host_only: bool = False
    from_path: bool = False  # no identity found: the node is the file's path
    #: the sdb-report node folder (``report/10.0.2.10-MA``) of a node it gave no port:
    #: every file under it is one node, whose port its memsqlConfig.json may give
    folder: str | None = None
    #: the other names its path gives (``node-10-20-0-13-LEAF/.../10.20.0.13_3306_memsql.log``
    #: names the folder's host and 10.20.0.13:3306), in precedence order: the one the
    #: cluster tables know is the node (:func:`cluster_node`, ``loader._path_renames``)
    others: tuple[str, ...] = ()
    #: hosts named by folders farther up than the one that named the node, nearest first
    #: (``ip-10-0-1-14/home/admin/tracelogs/memsql.log``: the node ``admin``, outer
    #: ``ip-10-0-1-14``); also among ``others``
    outer: tuple[str, ...] = ()


_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def _valid_port(port: str) -> bool:
    return 1024 <= int(port) <= 65535


def _plausible_host(host: str, separator: str) -> bool:
    """Ticket folders such as ``INC-20417``, ``CASE-881``, ``case-48213`` or
    ``ticket_40211`` are not ``host-port``."""
    if host.lower() in TICKET_WORDS:
        return False
    if separator != "-":
        return True
    if DATE_IN_NAME.search(host) or _REPORT_WORDS.intersection(re.split(r"[.\-_]", host.lower())):
        return False  # report-20260410-1530 is a report folder, not host:port
    return bool(_IPV4.match(host)) or any(c.islower() for c in host)


#: Words that name a support case, not a host, in front of a number.
TICKET_WORDS = frozenset(
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


#: Folders between a node's folder and its logs, passed over when looking for the node
#: (``<host>/tracelogs/``, ``<host>/var/lib/memsql/<node id>/tracelogs/``).
_LAYOUT_FOLDERS = frozenset(
    ["tracelogs", "memsqltracelogs", "log", "logs", "var", "lib", "opt", "memsql", "singlestore"]
)
_TRACELOG_FOLDERS = frozenset(["tracelogs", "memsqltracelogs"])
_NODE_DIR_ID = re.compile(r"^[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}$", re.IGNORECASE)
#: A node's data folder under ``memsql/`` or ``singlestore/`` (``var/lib/memsql/a1b2c3/``,
#: ``var/lib/memsql/81cf5cca1181/``, the Kubernetes operator's ``var/lib/memsql/instance/``):
#: the same name in every node's copy of it, so never a host.
_DATA_DIR_PARENTS = frozenset(["memsql", "singlestore"])
_DATA_DIR_ID = re.compile(r"^(?:[0-9a-f]{6,40}|instance)$", re.IGNORECASE)
_DNS_NAME = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?$")
#: A date in a name (a day's report or bundle: ``20260301``, ``2026-03-01``), no host.
DATE_IN_NAME = re.compile(r"(?:19|20)\d\d-?[01]\d-?[0-3]\d")
#: Words that name a folder of reports or bundles, not a host.
_REPORT_WORDS = frozenset(
    [
        "archive",
        "backup",
        "bundle",
        "bundles",
        "cases",
        "collect",
        "dump",
        "export",
        "extract",
        "output",
        "outputs",
        "report",
        "reports",
        "tickets",
    ]
)
#: A log and its rotations: ``memsql.log.1``, ``memsql.log-20260310``, ``x_memsql.log.2``
#: (the bundle reader already took ``.gz``/``.zst``/... off a decompressed member), also
#: as a log shipper or an export names it (``memsql.log.json``, ``memsql.log.1.ndjson``).
_ROTATED = re.compile(
    r"^(?P<base>.+?\.log)(?:[.\-_](?:\d+|\d{4}-\d\d-\d\d))*(?:\.(?:json|jsonl|ndjson|txt))?"
    r"(?:\.(?:gz|xz|bz2|zst|zstd))?$",
    re.IGNORECASE,
)


def is_layout_folder(name: str, parent: str | None = None) -> bool:
    """A folder between a node's folder and its logs (``tracelogs/``, ``var/lib/memsql/
    <node id>/``), which node identity passes over; ``parent``: the folder holding it,
    which tells a data folder's id (:data:`_DATA_DIR_ID`)."""
    if name.lower() in _LAYOUT_FOLDERS or _NODE_DIR_ID.match(name):
        return True
    in_data = parent is not None and parent.lower() in _DATA_DIR_PARENTS
    return in_data and bool(_DATA_DIR_ID.match(name))


def _host_folders(parts: list[str]) -> tuple[str | None, tuple[str, ...]]:
    """The host named by the nearest folder above the file, layout folders passed over
    (None when that folder names no host: a ticket, a report, a plain word), and the
    hosts folders farther up name (an IP address, a name of two words or more: never a
    plain word), nearest first."""
    holds_log = _ROTATED.match(parts[-1]) is not None
    under_tracelogs = False
    host: str | None = None
    outer: list[str] = []
    for index in range(len(parts) - 2, -1, -1):
        part = parts[index]
        if is_layout_folder(part, parts[index - 1] if index else None):
            under_tracelogs = under_tracelogs or part.lower() in _TRACELOG_FOLDERS
            continue
        name = _clean_host(part)
        if host is None:
            if not _names_host(name, holds_log or under_tracelogs, under_tracelogs):
                return None, ()
            host = name
        elif _names_host(name, holds_log or under_tracelogs, False) and not same_host(name, host):
            outer.append(name)
    return host, tuple(dict.fromkeys(outer))


def _host_folder(parts: list[str]) -> str | None:
    return _host_folders(parts)[0]


def _names_host(name: str, holds_logs: bool, under_tracelogs: bool) -> bool:
    """An IP address names a host wherever it is. A host name only names the node of
    logs: any folder of tables (``acme-prod/``) is not a host; and a single word
    (``node1``, ``realdata``) only where it holds ``tracelogs/`` (memsql-report layout)."""
    if _IPV4.match(name):
        return True
    if not holds_logs or not _DNS_NAME.match(name):
        return False
    words = re.split(r"[.\-]", name.lower())
    if words[0] in TICKET_WORDS or DATE_IN_NAME.search(name):
        return False
    if any(word in _REPORT_WORDS for word in words):
        return False
    return len(words) > 1 or under_tracelogs


def _pod(parts: list[str]) -> str | None:
    """The pod whose container log this is, from the kubelet's layout (see
    :data:`_K8S_POD_FOLDER`): a pod's folder above the file, else the file's name."""
    for part in reversed(parts[:-1]):
        if m := _K8S_POD_FOLDER.match(part):
            return m["pod"]
    m = _K8S_CONTAINER_LOG.match(parts[-1])
    return m["pod"] if m else None


def _rotation_base(parts: list[str]) -> str:
    """The member's path with the rotation taken off its file name: the node of logs
    that tell no host (``memsql.log.1`` and ``memsql.log`` of one folder are one)."""
    m = _ROTATED.match(parts[-1])
    return "/".join([*parts[:-1], m["base"] if m else parts[-1]])


def _clean_host(host: str) -> str:
    """``node-127.0.0.1`` (sdb-report folder style) is the host 127.0.0.1."""
    rest = host[5:] if host.lower().startswith("node-") else host
    return rest if _IPV4.match(rest) else host


def _file_name_node(name: str) -> tuple[str, str | None] | None:
    """The host (and port) a file name gives: ``<host>_<port>_memsql.log``, else a log
    named by its host alone (``sdb-ma-01_memsql.log``; as for a folder, a single word
    such as ``leaf2_memsql.log`` or ``MA-memsql.log`` names no host)."""
    m = _HOST_PORT_FILE.match(name)
    if m and _valid_port(m["port"]):
        return _clean_host(m["host"]), m["port"]
    rotated = _ROTATED.match(name)
    m = _HOST_FILE.match(rotated["base"] if rotated else name)
    if m and _names_host(_clean_host(m["host"]), True, False):
        return _clean_host(m["host"]), None
    return None


def _named(host: str, port: str | None) -> str:
    return host if port is None else f"{host}:{port}"


_Parts = tuple[str | None, str | None, str, str | None, tuple[str, ...]]


def _from_parts(parts: list[str]) -> _Parts:
    """(host, port, role, node folder, the other names) the path gives: the nearest node
    folder or ``<host>_<port>`` part first, then the file name."""
    host = port = folder = None
    role = "unknown"
    names: list[str] = []  # every name a folder gives, in path order
    for index, part in enumerate(parts[:-1]):
        m = _NODE_FOLDER.match(part)
        if m:
            host = _clean_host(m["host"])
            role = ROLE_SUFFIXES.get(m["role"].lower(), "unknown")
            folder = "/".join(parts[: index + 1])
            names.append(host)
            continue
        m = _HOST_PORT_PART.match(part)
        if m and _valid_port(m["port"]) and _plausible_host(m["host"], m["sep"]):
            host, port = _clean_host(m["host"]), m["port"]
            names.append(_named(host, port))
    primary = None if host is None else _named(host, port)
    others = [name for name in reversed(names) if name != primary]
    found = _file_name_node(parts[-1])
    # a file name <host>_<port>_memsql.log completes a node folder that gave no port, when
    # it names the folder's host: the folder comes first (SPEC §2.3), and every file of
    # one node folder is one node (its showVariables.json as much as its log); a file
    # name naming another host is one more name the cluster tables may choose
    if found is not None:
        named, named_port = found
        if host is None:  # (before a folder named by a host, which stays a name to choose)
            host, port = named, named_port
            around = _pod(parts) or _host_folder(parts)
            if around is not None and not same_host(around, named):
                others.append(around)
        elif port is None and same_host(host, named):
            # (the address where the folder spells it: node-10-20-0-13 and 10.20.0.13)
            host = named if _IPV4.match(named) else host
            port = named_port
        elif not same_host(host, named) or (named_port not in (None, port)):
            others.append(_named(named, named_port))
    return host, port, role, folder, tuple(dict.fromkeys(others))


def identify(
    inner: str, overrides: Mapping[str, str] | None = None, source: str | None = None
) -> NodeId:
    """The node a member belongs to, from its path inside the bundle; ``source``: the
    member is the lines one source of a merged file names (:func:`source_node`), which
    name their host whatever the path says."""
    parts = [p for p in inner.split("/") if p] or [inner]
    host, port, role, folder, others = _from_parts(parts)
    outer: tuple[str, ...] = ()
    if host is None:
        pod = _pod(parts)
        host, outer = (pod, ()) if pod is not None else _host_folders(parts)
    for glob, node in (overrides or {}).items():
        if fnmatch.fnmatch(inner, glob) or fnmatch.fnmatch(parts[-1], glob):
            return NodeId(node, role)
    if source is not None and (named := source_node(source)) is not None:
        return named
    if host is not None and port is not None:
        return NodeId(f"{host}:{port}", role, others=others)
    if host is not None:
        others = tuple(dict.fromkeys([*others, *outer]))
        return NodeId(host, role, host_only=True, folder=folder, others=others, outer=outer)
    return NodeId(_rotation_base(parts), role, from_path=True)


#: A replica's name: ``<service>-<n>`` or ``<service>_<n>`` (docker compose v1, a
#: StatefulSet's pod), also ``<project>-<service>-<n>`` (compose v2's container name).
_REPLICA = re.compile(r"^(?P<name>.+?)[-_]\d{1,3}$")


def source_node(source: str) -> NodeId | None:
    """The node of the lines a merged file names ``source`` for (forensics/parsers/
    sources.py: a compose service or container, a pod, a shipper's host): ``<host>:<port>``
    or ``<host>_<port>`` as it says, else the host, whose port the cluster tables give
    (``kubectl``'s pod ``node-memsql-cluster-leaf-ag2-1`` is the tables' ``node-memsql-
    cluster-leaf-ag2-1.svc-memsql-cluster:3306``). A replica's service (``tc-singlestore-1``:
    ``tc-singlestore``, ``singlestore``) is among ``others``, for tables that name the
    service. None for a source that names no host (a log stream's path)."""
    m = _HOST_PORT_PART.match(source)
    if m and m["sep"] != "-" and _valid_port(m["port"]):
        return NodeId(f"{_clean_host(m['host'])}:{m['port']}", "unknown")
    names = [_clean_host(source)]
    replica = _REPLICA.match(source)
    if replica is not None and spelled_address(source) is None:
        words = re.split(r"([-_])", replica["name"])
        names += ["".join(words[i:]) for i in range(0, len(words), 2)]  # project- taken off
    hosts = [name for name in dict.fromkeys(names) if _IPV4.match(name) or _DNS_NAME.match(name)]
    if not hosts:
        return None
    return NodeId(hosts[0], "unknown", host_only=True, others=tuple(hosts[1:]))


def parse_overrides(values: Iterable[str]) -> dict[str, str]:
    """``GLOB=HOST:PORT`` strings from the command line into a mapping."""
    out: dict[str, str] = {}
    for value in values:
        glob, sep, node = value.partition("=")
        host, colon, port = node.rpartition(":")
        if not sep or not glob or not colon or not host:
            raise ValueError(f"--node expects GLOB=HOST:PORT, got {value!r}")
        if not (port.isdigit() and 1 <= int(port) <= 65535):
            raise ValueError(f"--node {value!r}: the port must be a number from 1 to 65535")
        out[glob] = node
    return out


#: An AWS EC2 host name (``ip-10-0-1-14``, ``ip-10-0-1-14.ec2.internal``) spells its
#: private address: folders are named by it while the cluster tables use the address.
_AWS_HOST = re.compile(r"^ip-(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})(?:\.[A-Za-z0-9.\-]*)?$", re.I)


def host_address(host: str) -> str:
    """The address a host name spells (AWS style), else the host itself."""
    m = _AWS_HOST.match(host)
    return ".".join(m.groups()) if m else host


#: An address spelled with dashes, as a host name or a folder may (``10-20-0-13``, the
#: sdb-report folder ``node-10-20-0-13``, AWS's ``ip-10-20-0-13.ec2.internal`` and
#: ``ec2-54-12-3-4.compute-1.amazonaws.com``). Read as the address only to compare with
#: another name (:func:`same_host`): a dashed name that matches no address stays a name.
_DASHED_ADDRESS = re.compile(
    r"^(?:[A-Za-z][A-Za-z0-9]*-)?(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})(?:\.[A-Za-z0-9.\-]*)?$"
)


def spelled_address(host: str) -> str | None:
    """The IPv4 address a dashed host name spells (see :data:`_DASHED_ADDRESS`), else None."""
    m = _DASHED_ADDRESS.match(host)
    if m is None or any(int(octet) > 255 for octet in m.groups()):
        return None
    return ".".join(m.groups())


def same_host(a: str, b: str) -> bool:
    """Whether two spellings name one host: equal, one address (``ip-10-0-1-14.ec2.internal``
    or ``node-10-0-1-14`` and ``10.0.1.14``), or a short name and its qualified name
    (``db-leaf-07`` and ``db-leaf-07.corp.example``; never for addresses, whose first part
    is a number)."""
    a, b = (spelled_address(a) or a).lower(), (spelled_address(b) or b).lower()
    if a == b:
        return True
    if _IPV4.match(a) or _IPV4.match(b):
        return False
    return a.split(".", 1)[0] == b.split(".", 1)[0] and ("." in a) != ("." in b)


def resolve_ports(host: str, known_nodes: Iterable[str]) -> str:
    """Complete a bare host with its port when the cluster tables name exactly one node on
    it, in their own spelling (a folder ``ip-10-0-1-14.ec2.internal-LEAF`` is the tables'
    ``10.0.1.14:3306``): the node's lines then count as the node the steps name."""
    nodes = {n for n in known_nodes if ":" in n and same_host(n.rsplit(":", 1)[0], host)}
    if len(nodes) == 1:
        return nodes.pop()
    exact = sorted(n for n in nodes if n.rsplit(":", 1)[0] == host)
    return exact[0] if len(exact) == 1 else host


_AGGREGATOR_ROLES = frozenset(["master_aggregator", "child_aggregator"])


def _fits(role: str, known_role: str) -> bool:
    """A folder's role and a table's agree: an aggregator folder is never a leaf's node."""
    if role == "unknown" or known_role == "unknown":
        return True
    return (role in _AGGREGATOR_ROLES) == (known_role in _AGGREGATOR_ROLES)


def resolve_node(host: str, role: str, known: Mapping[str, str], port: str | None = None) -> str:
    """The ``host:port`` of a port-less node folder (SPEC §2.3), where the bundle tells it:
    the port its memsqlConfig.json gives (``port``), else the one node on that host the
    cluster tables name for its role (``known``: node -> role, from SHOW LEAVES, SHOW
    AGGREGATORS, MV_NODES, partition and step targets). An MA on port 3306 and a leaf on
    3307 of one host stay two nodes; a node the bundle cannot place keeps its host."""
    same = {n: r for n, r in known.items() if ":" in n and same_host(n.rsplit(":", 1)[0], host)}
    if port is not None:
        spelled = sorted(n for n in same if n.rsplit(":", 1)[1] == port)
        return spelled[0] if spelled else f"{host_address(host)}:{port}"
    fitting = sorted(n for n, r in same.items() if _fits(role, r))
    return fitting[0] if len(fitting) == 1 else host


def cluster_node(
    name: str, role: str, known: Mapping[str, str], port: str | None = None
) -> str | None:
    """The node of the cluster tables (``known``: node -> role) one name a path gives is,
    in the tables' spelling; None when they name no such node. A ``host:port`` is the node
    on that port of the same host (``node-10-20-0-13:3306`` is ``10.20.0.13:3306``); a
    host is completed as :func:`resolve_node` does (``port``: its memsqlConfig.json's)."""
    if "/" in name:
        return None
    host, sep, own = name.rpartition(":")
    if not (sep and own.isdigit()):
        resolved = resolve_node(name, role, known, port)
        return resolved if resolved in known else None
    if name in known:
        return name
    spelled = [n for n in known if n.endswith(f":{own}") and same_host(n.rsplit(":", 1)[0], host)]
    return spelled[0] if len(spelled) == 1 else None


def chosen_node(
    node: str, others: Iterable[str], role: str, known: Mapping[str, str], port: str | None = None
) -> str | None:
    """The node of a file the path names ``node`` (first in precedence) or one of
    ``others``: the first name the cluster tables know (:func:`cluster_node`); failing
    that, ``node`` completed by its memsqlConfig.json's port (``port``); None when the
    tables and the bundle tell nothing more than ``node``."""
    for index, name in enumerate([node, *others]):
        found = cluster_node(name, role, known, port if index == 0 else None)
        if found is not None:
            return found
    if ":" in node or "/" in node:
        return None
    resolved = resolve_node(node, role, known, port)
    return resolved if resolved != node else None
