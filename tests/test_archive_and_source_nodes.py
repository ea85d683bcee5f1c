"""Node identity of per-node archives and of merged files' sources (SPEC §2.3).

An archive of the bundle is a folder of its name: ``ip-10-20-0-24.tar.gz`` holding
``var/lib/memsql/<id>/tracelogs/memsql.log`` is the host ip-10-20-0-24, which the cluster
tables name 10.20.0.24:3306; the data folder's id (the same in every archive, or one per
node) is never the node. The lines of ``kubectl logs --prefix`` and ``docker compose logs``
are on the host their source names, completed from the tables.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from forensics.analysis import Report, analyze
from forensics.nodes import identify, source_node
from tests.test_unresolved_nodes import ENOSPC_LINES, MA_LINES  # (the same incident)

LEAF_LINES = ENOSPC_LINES  # (the target leaf's log of the same incident)
QUIET_LINES = [  # another leaf, busy with nothing of the step
    "8800000000 2026-03-11 08:06:30.000   INFO: Thread 115001 (ntid 20, conn id -1): "
    "BackgroundMerger: merged 4 segments of `t` in `payments_2` (1680 ms)",
    "8800100000 2026-03-11 08:08:10.000   INFO: Thread 115001 (ntid 20, conn id -1): "
    "MemoryManager: plancache trimmed, released 4 MB",
]
HOSTS = {"10.20.0.10": MA_LINES, "10.20.0.22": QUIET_LINES, "10.20.0.24": LEAF_LINES}


def _named(text: str, names: dict[str, str]) -> str:
    """``text`` with each address in it spelled as ``names`` says (a pod, a service)."""
    for address, name in names.items():
        text = text.replace(address, name)
    return text


def _cluster(names: dict[str, str] | None = None) -> str:
    """SHOW AGGREGATORS and SHOW LEAVES naming the nodes by address, or by ``names``."""
    line = f"+-{'-' * 40}-+------+"
    host = (names or {}).get
    leaves = "\n".join(
        f"| {host(a, a):<40} | 3306 |                  1 | online |"
        for a in ("10.20.0.22", "10.20.0.24")
    )
    return (
        f"mysql> SHOW AGGREGATORS;\n{line}-------------------+\n"
        f"| {'Host':<40} | Port | Master_Aggregator |\n{line}-------------------+\n"
        f"| {host('10.20.0.10', '10.20.0.10'):<40} | 3306 |                 1 |\n"
        f"{line}-------------------+\n\n"
        f"mysql> SHOW LEAVES;\n{line}--------------------+--------+\n"
        f"| {'Host':<40} | Port | Availability_Group | State  |\n"
        f"{line}--------------------+--------+\n{leaves}\n{line}--------------------+--------+\n"
    )


def _tar_gz(files: dict[str, list[str]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, lines in files.items():
            data = ("\n".join(lines) + "\n").encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def _nodes(report: Report) -> dict[str, str]:
    return dict(report.bundle.nodes.select("node", "role").iter_rows())


def _unresolved(report: Report) -> list[str]:
    return [w for w in report.warnings if "not tied to a host:port" in w or "overlaps" in w]


EXPECTED = {
    "10.20.0.10:3306": "master_aggregator",
    "10.20.0.22:3306": "leaf",
    "10.20.0.24:3306": "leaf",
}

# (archive name per address, data folder per address), as a node's logs are packed
ARCHIVES = {
    "same id, AWS names": ("ip-{dashed}.tar.gz", lambda n: "a1b2c3"),
    "12-hex id per node": ("ip-{dashed}.tar.gz", lambda n: f"81cf5cca11{n:02x}"),
    "UUID per node, address .tgz": (
        "{address}.tgz",
        lambda n: f"0f1e2d3c-1111-4ef3-9fc4-0000000000{n:02x}",
    ),
    "operator's instance folder": ("node-{dashed}.tar.gz", lambda n: "instance"),
}


def _per_node_archives(root: Path, layout: str) -> list[Path]:
    name, folder = ARCHIVES[layout]
    made = []
    for n, (address, lines) in enumerate(HOSTS.items()):
        inside = f"var/lib/memsql/{folder(n)}/tracelogs/memsql.log"
        path = root / name.format(dashed=address.replace(".", "-"), address=address)
        path.write_bytes(_tar_gz({inside: lines}))
        made.append(path)
    return made


def _assert_resolved(report: Report) -> None:
    assert _nodes(report) == EXPECTED
    assert _unresolved(report) == []
    (verdict,) = report.verdicts
    assert (verdict.phase, verdict.cause) == ("copy", "storage_error")
    cause = next(f for f in report.findings if f.role == "cause")
    assert cause.node == "10.20.0.24:3306"


@pytest.mark.parametrize("layout", sorted(ARCHIVES))
def test_per_node_archives_are_named_by_their_host(tmp_path: Path, layout: str) -> None:
    """Each host's logs as its own archive beside the tables: the archive's name is the
    node; before, one shared data folder id made all of them one node (the leaf's
    ENOSPC on the master aggregator), distinct ids made nodes not tied to the cluster."""
    root = tmp_path / "bundle"
    (root / "sql").mkdir(parents=True)
    (root / "sql" / "cluster.txt").write_text(_cluster())
    _per_node_archives(root, layout)
    _assert_resolved(analyze(root))


def test_archives_given_one_by_one_are_named_by_their_host(tmp_path: Path) -> None:
    """``forensics analyze ip-*.tar.gz sql/cluster.txt``: as in the folder."""
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "cluster.txt").write_text(_cluster())
    given = _per_node_archives(tmp_path, "same id, AWS names")
    _assert_resolved(analyze([*given, tmp_path / "sql" / "cluster.txt"]))


def test_archives_nested_in_an_upload_are_named_by_their_host(tmp_path: Path) -> None:
    """An upload (zip) holding the per-node archives and the tables."""
    staged = tmp_path / "staged"
    staged.mkdir()
    archives = _per_node_archives(staged, "12-hex id per node")
    upload = tmp_path / "CS-20417.zip"
    with zipfile.ZipFile(upload, "w") as zf:
        for path in archives:
            zf.write(path, f"upload/{path.name}")
        zf.writestr("upload/sql/cluster.txt", _cluster())
    _assert_resolved(analyze(upload))


def test_archives_sharing_an_inner_folder_are_not_one_node(tmp_path: Path) -> None:
    """``home/admin/tracelogs/memsql.log`` in each host's archive: ``admin`` would name a
    host, yet the archives tell them apart (by address where the tables know it)."""
    root = tmp_path / "bundle"
    root.mkdir()
    for address, lines in HOSTS.items():
        inside = {"home/admin/tracelogs/memsql.log": lines}
        (root / f"ip-{address.replace('.', '-')}.tar.gz").write_bytes(_tar_gz(inside))
    assert sorted(_nodes(analyze(root))) == ["ip-10-20-0-10", "ip-10-20-0-22", "ip-10-20-0-24"]
    (root / "cluster.txt").write_text(_cluster())
    _assert_resolved(analyze(root))


def test_a_data_folder_id_is_no_host() -> None:
    for inside in ("a1b2c3", "81cf5cca1181", "instance"):
        node = identify(f"var/lib/memsql/{inside}/tracelogs/memsql.log")
        assert node.from_path, inside
    assert identify("ip-10-0-1-14/var/lib/memsql/a1b2c3/tracelogs/memsql.log").node == (
        "ip-10-0-1-14"
    )
    # (elsewhere a folder named like one still names its host)
    assert identify("a1b2c3/tracelogs/memsql.log").node == "a1b2c3"


# ------------------------------------------------------------------- merged files' sources

POD = "node-memsql-cluster-{}"
PODS = {"10.20.0.10": "master-0", "10.20.0.22": "leaf-ag1-0", "10.20.0.24": "leaf-ag2-0"}
SERVICE = "svc-memsql-cluster"


def _merged(prefix: dict[str, str], names: dict[str, str]) -> str:
    """Every host's lines behind its ``prefix``, in time order, nodes named by ``names``."""
    rows = [(line.split()[2], prefix[a] + line) for a, lines in HOSTS.items() for line in lines]
    return _named("\n".join(text for _, text in sorted(rows)) + "\n", names)


def test_kubectl_prefix_sources_are_the_cluster_pods(tmp_path: Path) -> None:
    """``kubectl logs -l app=memsql --prefix`` saved as ``kubectl-logs.txt`` (no ``.log``):
    each pod's lines are its node, ``<pod>.<service>:3306`` in the tables."""
    root = tmp_path / "bundle"
    (root / "sql").mkdir(parents=True)
    prefix = {a: f"[pod/{POD.format(p)}/node] " for a, p in PODS.items()}
    names = {a: f"{POD.format(p)}.{SERVICE}" for a, p in PODS.items()}
    (root / "kubectl-logs.txt").write_text(_merged(prefix, names))
    (root / "sql" / "cluster.txt").write_text(_cluster(names))
    report = analyze(root)
    assert _nodes(report) == {
        f"{names['10.20.0.10']}:3306": "master_aggregator",
        f"{names['10.20.0.22']}:3306": "leaf",
        f"{names['10.20.0.24']}:3306": "leaf",
    }
    assert _unresolved(report) == []
    files = dict(report.bundle.files.select("path", "node").iter_rows())
    pod = POD.format(PODS["10.20.0.24"])
    assert files[f"bundle/kubectl-logs.txt#{pod}"] == f"{names['10.20.0.24']}:3306"


@pytest.mark.parametrize(
    "prefix",
    [
        "{service}  | ",  # the service, as the tables name it
        "{service}-1  | ",  # compose v2: the service and its replica
        "proj-{service}-1  | ",  # compose v2: the container's name
        "{service}_1  | ",  # compose v1
    ],
)
def test_compose_sources_are_their_services(tmp_path: Path, prefix: str) -> None:
    """``docker compose logs`` saved as ``compose.txt``: each service's lines are its
    node, which the tables name by the service."""
    root = tmp_path / "bundle"
    root.mkdir()
    services = {"10.20.0.10": "memsql-ma", "10.20.0.22": "memsql-leaf", "10.20.0.24": "spare"}
    (root / "compose.txt").write_text(
        _merged({a: prefix.format(service=s) for a, s in services.items()}, services)
    )
    (root / "cluster.txt").write_text(_cluster(services))
    report = analyze(root)
    assert _nodes(report) == {
        "memsql-ma:3306": "master_aggregator",
        "memsql-leaf:3306": "leaf",
        "spare:3306": "leaf",
    }
    assert _unresolved(report) == []
    (verdict,) = report.verdicts
    assert (verdict.phase, verdict.cause) == ("copy", "storage_error")


def _source(name: str) -> tuple[str, tuple[str, ...]] | None:
    node = source_node(name)
    return None if node is None else (node.node, node.others)


def test_the_node_a_source_names() -> None:
    pod = source_node("node-memsql-cluster-leaf-ag2-1")
    assert pod is not None and pod.node == "node-memsql-cluster-leaf-ag2-1"
    assert _source("10.0.1.14:3306") == ("10.0.1.14:3306", ())
    assert _source("memsql_leaf_1") == ("leaf", ())
    assert _source("tc-singlestore-1") == (
        "tc-singlestore-1",
        ("tc-singlestore", "singlestore"),
    )
    assert _source("memsql/leaf-1/memsql.log") is None  # a log stream's path
