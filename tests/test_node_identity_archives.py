"""Node identity where the bundle's own layout names the nodes (SPEC §2.3): one archive
per node named by it, log files given one by one, kubelet container logs, and sdb-report
node folders whose memsqlConfig.json files are identical."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
import zstandard

from forensics import load_bundle
from forensics.analysis import analyze
from forensics.bundle import Member, iter_members
from forensics.nodes import identify

T = "2026-03-11 08:0"
MA_LOG = (
    f"3500000000 {T}6:00.100   INFO: Thread 115334 (ntid 51, conn id -1): Beginning rebalance "
    "of database `payments`: 20 steps planned\n"
    f"3500100000 {T}7:01.100   INFO: Thread 115334 (ntid 51, conn id -1): Step 6/20: copying "
    "partition payments:5 on 10.20.0.24:3306 started\n"
    f"3500200000 {T}8:12.600  ERROR: Thread 115334 (ntid 51, conn id -1): Step 6/20: copying "
    "partition `payments_5` on node [6] 10.20.0.24:3306 aborted: Leaf Error "
    "(10.20.0.24:3306): snapshot transfer did not complete\n"
    f"3500200100 {T}8:12.700  ERROR: Thread 115334 (ntid 51, conn id -1): Rebalance of "
    "database `payments` failed; the remaining 15 steps were cancelled\n"
).encode()
CA_LOG = b"".join(
    b"%d 2026-03-11 08:%02d:%02d.000   INFO: Thread 115001 (ntid 20, conn id -1): Heartbeat: "
    b"node [1] 10.20.0.10:3306 answered in 0.2 ms\n"
    % (9100000000 + i * 30000000, i // 2, i % 2 * 30)
    for i in range(18)
)
LEAF_LOG = (
    f"7700000000 {T}7:01.400   INFO: Thread 115085 (ntid 354, conn id -1): ReplicateDatabase: "
    "`payments_5` provisioning from 10.20.0.22:3306\n"
    f"7700100000 {T}8:12.529  ERROR: Thread 115085 (ntid 354, conn id -1): Error writing file "
    "'/var/lib/memsql/instance/data/snapshots/tmp_0x7f3a2c01' (errno: 28): No space left on "
    "device\n"
).encode()
NODES = {"10.20.0.10_3306": MA_LOG, "10.20.0.11_3306": CA_LOG, "10.20.0.24_3306": LEAF_LOG}


def _plain_tar(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def _tar(files: dict[str, bytes]) -> bytes:
    return gzip.compress(_plain_tar(files), mtime=0)


def _zip(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return raw.getvalue()


def _tar_zst(files: dict[str, bytes]) -> bytes:
    return zstandard.ZstdCompressor().compress(_plain_tar(files))


ARCHIVES = {".tar.gz": _tar, ".tgz": _tar, ".zip": _zip, ".tar.zst": _tar_zst}


@pytest.mark.parametrize("suffix", sorted(ARCHIVES))
def test_one_archive_per_node_is_one_node_each(tmp_path: Path, suffix: str) -> None:
    """``<host>_<port>.tar.gz`` holding ``memsql.log`` at its root: the archive's name is
    the node; merged into one, the MA took the leaf's ENOSPC and restarts were invented."""
    root = tmp_path / "bundle"
    root.mkdir()
    for name, log in NODES.items():
        (root / f"{name}{suffix}").write_bytes(ARCHIVES[suffix]({"memsql.log": log}))
    report = analyze(root)
    nodes = report.bundle.nodes
    assert sorted(nodes.get_column("node")) == [
        "10.20.0.10:3306",
        "10.20.0.11:3306",
        "10.20.0.24:3306",
    ]
    assert nodes.get_column("restarts").sum() == 0
    (verdict,) = report.verdicts
    assert (verdict.phase, verdict.cause) == ("copy", "storage_error")
    cause = next(f for f in report.findings if f.role == "cause")
    assert cause.node == "10.20.0.24:3306"


def test_per_host_archives_name_their_nodes_by_host(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    root.mkdir()
    inside = "var/lib/memsql/0f1e2d3c-1111-4ef3-9fc4-000000000001/tracelogs/memsql.log"
    (root / "sdb-ma-0.tgz").write_bytes(_tar({inside: MA_LOG}))
    (root / "sdb-leaf-4.tgz").write_bytes(_tar({inside: LEAF_LOG}))
    nodes = sorted(load_bundle(root).nodes.get_column("node"))
    assert nodes == ["sdb-leaf-4", "sdb-ma-0"]


def test_display_paths_of_archive_members_are_unchanged(tmp_path: Path) -> None:
    root = tmp_path / "b"
    root.mkdir()
    (root / "10.20.0.10_3306.tar.gz").write_bytes(_tar({"memsql.log": MA_LOG}))
    (member,) = [m for m in iter_members([root]) if isinstance(m, Member)]
    assert member.path == "b/10.20.0.10_3306.tar.gz/memsql.log"
    assert identify(member.inner).node == "10.20.0.10:3306"


def test_a_bundle_archive_given_alone_keeps_its_node_folders(tmp_path: Path) -> None:
    path = tmp_path / "report-2026-03-02T101530.tar.gz"
    path.write_bytes(_tar({f"{name}/memsql.log": log for name, log in NODES.items()}))
    nodes = sorted(load_bundle(path).nodes.get_column("node"))
    assert nodes == ["10.20.0.10:3306", "10.20.0.11:3306", "10.20.0.24:3306"]
    lone = tmp_path / "sdb-prod.tar.gz"  # its name is the bundle's, not a node's
    lone.write_bytes(_tar({"memsql.log": MA_LOG}))
    assert load_bundle(lone).nodes.get_column("node").to_list() == ["memsql.log"]


def _one_by_one(root: Path) -> list[Path]:
    """Each node's log in ``<host>_<port>/tracelogs/memsql.log``, as the shell's
    ``*/tracelogs/memsql.log`` gives them."""
    given = []
    for name, log in NODES.items():
        where = root / name / "tracelogs"
        where.mkdir(parents=True)
        (where / "memsql.log").write_bytes(log)
        given.append(where / "memsql.log")
    return given


def test_log_files_given_one_by_one_are_named_by_their_folders(tmp_path: Path) -> None:
    """``forensics analyze */tracelogs/memsql.log``: each file's folders below the folder
    the given files share are its path in the bundle, and the path it is shown with (six
    files shown as ``memsql.log`` would not tell one evidence line's node)."""
    given = _one_by_one(tmp_path)
    members = [m for m in iter_members(given) if isinstance(m, Member)]
    assert [m.path for m in members] == [f"{name}/tracelogs/memsql.log" for name in NODES]
    assert [identify(m.inner).node for m in members] == [
        "10.20.0.10:3306",
        "10.20.0.11:3306",
        "10.20.0.24:3306",
    ]
    (alone,) = list(iter_members(given[:1]))  # one file is the bundle: its name only
    assert alone.inner == "memsql.log"


POD_UID = "64954480-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
SERVICE = "svc-memsql-cluster"
LEAVES = (
    "mysql> SHOW LEAVES;\n"
    "+--{d}+------+--------------------+-------+\n"
    "| Host{s} | Port | Availability_Group | State |\n"
    "+--{d}+------+--------------------+-------+\n"
    "| {leaf} | 3306 |                  1 | online |\n"
    "+--{d}+------+--------------------+-------+\n"
)


def _cri(log: bytes) -> bytes:
    """A tracelog as the kubelet stores a container's output (CRI format)."""
    return b"".join(
        b"2026-03-11T08:00:00.000000123Z stdout F " + line + b"\n" for line in log.splitlines()
    )


@pytest.mark.parametrize("top", ["pods", "var/log/pods"])
def test_kubelet_pod_folders_name_the_node_by_its_pod(tmp_path: Path, top: str) -> None:
    """``pods/<ns>_<pod>_<uid>/node/0.log``: the pod is the node, which SHOW LEAVES names
    ``<pod>.<service>:3306``; a sidecar's log in the pod does not make another node."""
    root = tmp_path / "bundle"
    pods = {"node-memsql-cluster-master-0": MA_LOG, "node-memsql-cluster-leaf-ag1-0": LEAF_LOG}
    for pod, log in pods.items():
        folder = root / top / f"memsql_{pod}_{POD_UID}"
        (folder / "node").mkdir(parents=True)
        (folder / "node" / "0.log").write_bytes(_cri(log))
        (folder / "exporter").mkdir()
        (folder / "exporter" / "0.log").write_bytes(
            b'2026-03-11T08:00:01.000000000Z stderr F level=info msg="Collecting metrics"\n'
        )
    leaf = f"node-memsql-cluster-leaf-ag1-0.{SERVICE}"
    (root / "sql").mkdir()
    (root / "sql" / "leaves.txt").write_text(
        LEAVES.format(d="-" * len(leaf), s=" " * (len(leaf) - 4), leaf=leaf)
    )
    nodes = dict(load_bundle(root).nodes.select("node", "role").iter_rows())
    assert nodes == {
        f"{leaf}:3306": "leaf",
        "node-memsql-cluster-master-0": "master_aggregator",
    }


def test_identical_config_files_give_each_node_folder_its_port(tmp_path: Path) -> None:
    """sdb-report node folders hold the same memsqlConfig.json on every leaf: the copies
    are listed as duplicates, yet each tells its folder's port."""
    report = tmp_path / "report-2026-03-11T102205"
    folders = [
        ("sdb-ma-0", "MA", 3306, MA_LOG),
        ("sdb-leaf-3", "LEAF", 3307, LEAF_LOG),
        ("sdb-leaf-4", "LEAF", 3307, CA_LOG),
    ]
    for host, role, port, log in folders:
        folder = report / f"{host}-{role}"
        (folder / "memsqlTracelogs").mkdir(parents=True)
        (folder / "memsqlTracelogs" / f"{host}_memsql.log").write_bytes(log)
        (folder / "memsqlConfig.json").write_text(json.dumps({"port": port, "role": role}))
    bundle = load_bundle(report)
    assert sorted(bundle.nodes.get_column("node")) == [
        "sdb-leaf-3:3307",
        "sdb-leaf-4:3307",
        "sdb-ma-0:3306",
    ]
    reasons = bundle.files.get_column("skipped_reason").drop_nulls().to_list()
    assert any(r.startswith("duplicate of") for r in reasons), reasons


def test_analyze_of_log_files_given_one_by_one_keeps_their_nodes(tmp_path: Path) -> None:
    """``forensics analyze */tracelogs/memsql.log``: three nodes, not one node
    ``memsql.log`` with restarts made of their uptime counters; the ENOSPC on the target."""
    given = _one_by_one(tmp_path)
    report = analyze(given)
    nodes = report.bundle.nodes
    assert sorted(nodes.get_column("node")) == ["10.20.0.10:3306", "10.20.0.11:3306", "10.20.0.24:3306"]  # fmt: skip
    assert nodes.get_column("restarts").sum() == 0
    assert [(v.database, v.cause) for v in report.verdicts] == [("payments", "storage_error")]
