"""Node identity from paths (SPEC §2.3)."""

from __future__ import annotations

import pytest

from forensics.nodes import identify, parse_overrides, resolve_node, resolve_ports


@pytest.mark.parametrize(
    "inner,node,role",
    [
        (
            "report-2026-03-02T101530/ma-host-MA/memsqlTracelogs/ma-host_3306_memsql.log",
            "ma-host:3306",
            "master_aggregator",
        ),
        (
            "node-127.0.0.1-MasterAggregator/memsqlTracelogs/memsql.log",
            "127.0.0.1",
            "master_aggregator",
        ),
        ("report/leaf-1-LEAF/memsqlTracelogs/memsql.log", "leaf-1", "leaf"),
        ("agg2-CA/memsqlTracelogs/agg2_3307_memsql.log", "agg2:3307", "child_aggregator"),
        ("10.0.1.11_3306/tracelogs/memsql.log", "10.0.1.11:3306", "unknown"),
        ("ma-host:3306/memsql.log", "ma-host:3306", "unknown"),
        ("logs/10.0.0.3-3307/memsql.log.1", "10.0.0.3:3307", "unknown"),
        ("tracelogs/leaf9_3308_memsql.log", "leaf9:3308", "unknown"),
    ],
)
def test_identity_from_path(inner: str, node: str, role: str) -> None:
    got = identify(inner)
    assert (got.node, got.role) == (node, role)


def test_fallback_is_the_path_and_overrides_apply() -> None:
    assert identify("memsql.log").node == "memsql.log"
    assert identify("memsql.log").from_path
    assert identify("x/memsql.log", {"x/*": "10.1.1.1:3306"}).node == "10.1.1.1:3306"


def test_an_override_wins_over_the_path() -> None:
    """The user's --node names the node even where the path seems to tell another one."""
    got = identify("box_4000/node3/memsql.log", {"box_4000/node3/*": "10.1.2.7:3306"})
    assert got.node == "10.1.2.7:3306"


def test_parse_overrides_rejects_bad_values() -> None:
    assert parse_overrides(["a*=h:1"]) == {"a*": "h:1"}
    with pytest.raises(ValueError):
        parse_overrides(["nonsense"])


def test_resolve_ports_only_when_unique() -> None:
    assert resolve_ports("leaf-1", ["leaf-1:3306", "leaf-2:3306"]) == "leaf-1:3306"
    assert resolve_ports("leaf-1", ["leaf-1:3306", "leaf-1:3307"]) == "leaf-1"


@pytest.mark.parametrize(
    "inner,node",
    [
        (
            "INC-20417/logs/10.0.4.10_3306_memsql.log",
            "10.0.4.10:3306",
        ),  # a ticket folder is no host
        ("CASE-881/memsql.log", "CASE-881/memsql.log"),
        ("case-48213/node1/memsql.log", "case-48213/node1/memsql.log"),
        ("ticket_40211/10.0.0.3_3306/memsql.log", "10.0.0.3:3306"),
        ("node-127.0.0.1-MA/memsqlTracelogs/127.0.0.1_3306_memsql.log", "127.0.0.1:3306"),
        (
            "r/node-sdb-leaf-1-LEAF/memsqlTracelogs/node-sdb-leaf-1_3306_memsql.log",
            "node-sdb-leaf-1:3306",
        ),
    ],
)
def test_ticket_folders_and_node_prefixes(inner: str, node: str) -> None:
    assert identify(inner).node == node


def test_folder_and_file_name_agree_on_the_host() -> None:
    folder_only = identify("r/node-sdb-leaf-1-LEAF/showVariables.json")
    assert folder_only.node == "node-sdb-leaf-1" and folder_only.host_only


@pytest.mark.parametrize(
    "inner,node",
    [
        ("bundle/10.5.0.13/tracelogs/memsql.log.1", "10.5.0.13"),
        ("10.5.0.13/memsql.log", "10.5.0.13"),
        ("r/db-leaf-07.corp.example/memsql.log.2", "db-leaf-07.corp.example"),
        ("r/sg-leaf-a/tracelogs/memsql.log", "sg-leaf-a"),
        (
            "memsql-report-2026-04-11_0800/sg-leaf-a/var/lib/memsql/"
            "0f1e2d3c-1111-4ef3-9fc4-000000000001/tracelogs/memsql.log",
            "sg-leaf-a",
        ),
        ("r/node1/tracelogs/memsql.log", "node1"),  # memsql-report layout: <node>/tracelogs/
        ("bundle/10.5.0.10/show_partitions.txt", "10.5.0.10"),  # an IP names a host anywhere
    ],
)
def test_a_folder_named_by_its_host_is_the_node(inner: str, node: str) -> None:
    """Without a port the node is the bare host, as for ``leaf-1-LEAF/``: the cluster
    tables complete it later (``resolve_ports``)."""
    got = identify(inner)
    assert (got.node, got.host_only, got.from_path) == (node, True, False)


@pytest.mark.parametrize("folder", ["", "case-48213/", "bundle/", "x/node1/", "logs/"])
def test_rotations_of_one_log_are_one_node(folder: str) -> None:
    names = ["memsql.log", "memsql.log.1", "memsql.log.2.gz", "memsql.log-20260310.gz",
             "memsql.log.json", "memsql.log.1.ndjson"]  # (a log shipper's export names)  # fmt: skip
    assert {identify(folder + n).node for n in names} == {folder + "memsql.log"}
    rotated = [identify(f"{folder}ma_memsql.log.{n}").node for n in (1, 2, 3)]
    assert set(rotated) == {folder + "ma_memsql.log"}


@pytest.mark.parametrize(
    "inner",
    [
        "case-48213/memsql.log",
        "INC-20417/tracelogs/memsql.log",
        "report-2026-03-02T101530/memsql.log",
        "sdb-report-2026-04-10/memsql.log",
        "report-20260410-1530/memsql.log",  # no host "report-20260410", port 1530
        "support-bundle-7/memsql.log",
        "acme-prod/showVariables.json",  # a host name names the node of logs only
        "x/node1/memsql.log",  # a single word beside the logs is no host
    ],
)
def test_ticket_and_report_folders_are_no_hosts(inner: str) -> None:
    assert identify(inner).from_path


@pytest.mark.parametrize(
    "inner,node,role",
    [
        ("r/sg-ma/memsql.log", "sg-ma", "unknown"),
        ("prod-analytics-leaf/memsql.log", "prod-analytics-leaf", "unknown"),
        ("r/sg-ma/x", "r/sg-ma/x", "unknown"),
        ("r/sg-MA/x", "sg", "master_aggregator"),
        ("prod-analytics-LEAF/memsql.log", "prod-analytics", "leaf"),
    ],
)
def test_role_suffixes_only_as_sdb_report_writes_them(inner: str, node: str, role: str) -> None:
    """sdb-report names node folders ``<host>-MA``, ``<host>-LEAF`` (capitals): a host
    really called ``sg-ma`` keeps its name."""
    got = identify(inner)
    assert (got.node, got.role) == (node, role)


@pytest.mark.parametrize(
    "host,known,node",
    [
        ("ip-10-0-1-14.ec2.internal", ["10.0.1.14:3306", "10.0.1.11:3306"], "10.0.1.14:3306"),
        ("ip-10-0-1-14", ["10.0.1.14:3306"], "10.0.1.14:3306"),
        ("db-leaf-07.corp.example", ["db-leaf-07:3306", "db-leaf-08:3306"], "db-leaf-07:3306"),
        ("ip-10-0-1-10.ec2.internal", ["10.0.1.14:3306"], "ip-10-0-1-10.ec2.internal"),
        ("10.0.1.1", ["10.0.1.14:3306"], "10.0.1.1"),
    ],
)
def test_host_names_resolve_to_the_tables_address(host: str, known: list[str], node: str) -> None:
    """A folder named by the host name while the tables use its address is still the
    tables' node (probe r1: its evidence had counted as another node's)."""
    assert resolve_ports(host, known) == node


def test_a_file_name_never_overrides_its_node_folder() -> None:
    """SPEC §2.3: the folder first; all files of one node folder are one node (b17)."""
    log = identify("bundle/sdb-ma-MA/memsqlTracelogs/10.2.0.10_3306_memsql.log")
    tables = identify("bundle/sdb-ma-MA/showVariables.json")
    assert log.node == tables.node == "sdb-ma"
    assert log.folder == tables.folder == "bundle/sdb-ma-MA"


def test_an_ma_and_a_leaf_of_one_host_are_two_nodes() -> None:
    """Probe r3: 10.0.2.10-MA (3306) and 10.0.2.10-LEAF (3307) had become one node."""
    known = {
        "10.0.2.10:3307": "leaf",
        "10.0.2.11:3307": "leaf",
        "10.0.2.10:3306": "master_aggregator",
    }
    assert resolve_node("10.0.2.10", "master_aggregator", known) == "10.0.2.10:3306"
    assert resolve_node("10.0.2.10", "leaf", known) == "10.0.2.10:3307"
    # memsqlConfig.json's port decides where the tables cannot
    both = {"10.0.2.10:3306": "leaf", "10.0.2.10:3307": "leaf"}
    assert resolve_node("10.0.2.10", "leaf", both) == "10.0.2.10"
    assert resolve_node("10.0.2.10", "leaf", both, port="3307") == "10.0.2.10:3307"
    assert resolve_node("ip-10-0-2-12", "leaf", {}, port="3307") == "10.0.2.12:3307"


CONTAINER_ID = "3f" * 32


@pytest.mark.parametrize(
    "inner",
    [
        "pods/memsql_node-memsql-cluster-leaf-ag1-0_64954480-1c2d-4e5f-8a9b-0c1d2e3f4a5b/node/0.log",
        "var/log/pods/memsql_node-memsql-cluster-leaf-ag1-0_64954480-1c2d-4e5f-8a9b-0c1d2e3f4a5b/"
        "node/0.log.20260311-060000",
        f"var/log/containers/node-memsql-cluster-leaf-ag1-0_memsql_node-{CONTAINER_ID}.log",
    ],
)
def test_kubelet_container_logs_are_their_pods_node(inner: str) -> None:
    """The kubelet's layouts name the pod (``<ns>_<pod>_<uid>/``, ``<pod>_<ns>_<ctr>-<id>``):
    the pod is the node's host, which the cluster tables complete with its service."""
    got = identify(inner)
    assert (got.node, got.host_only) == ("node-memsql-cluster-leaf-ag1-0", True)
    known = {"node-memsql-cluster-leaf-ag1-0.svc-memsql-cluster:3306": "leaf"}
    resolved = resolve_node(got.node, got.role, known)
    assert resolved == "node-memsql-cluster-leaf-ag1-0.svc-memsql-cluster:3306"
