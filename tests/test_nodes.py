"""Node identity from paths (SPEC §2.3)."""

from __future__ import annotations

import pytest

from forensics.nodes import identify, parse_overrides, resolve_ports


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
