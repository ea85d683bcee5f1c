"""Node identity when the parts of a path name different nodes (SPEC §2.3).

A folder may spell a host otherwise than the cluster tables (``node-10-20-0-13-LEAF``,
dots written as dashes; ``sdb-leaf-4-LEAF`` by name where the leaves were added by
address) while the file name inside says ``10.20.0.13_3306_memsql.log``: the name the
tables know is the node, and the target leaf's evidence counts as the target's (probe
y01: its restart had been dismissed as on "a node not tied to a host:port"). When the
tables know none of the names, the folder comes first, as before.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics.analysis import analyze_bundle
from forensics.loader import load_bundle
from forensics.nodes import chosen_node, identify, same_host, spelled_address
from tests.test_unresolved_nodes import ENOSPC_LINES, MA_LINES  # (the same incident)

# SHOW REBALANCE STATUS as sdb-report saves it: the tables name the target by address.
STATUS = (
    '{"columns":["Database","Action","Ordinal","Target_Host","Target_Port","Phase","Status"],'
    '"rows":[{"Database":"payments","Action":"COPY PARTITION","Ordinal":5,'
    '"Target_Host":"10.20.0.24","Target_Port":3306,"Phase":3,"Status":"failed"}]}'
)
UNTIED = "not tied to a host:port"


def _report(root: Path, ma_folder: str, leaf_folder: str, leaf_log: str) -> Path:
    files = {
        "globalInfo/rebalanceStatus.json": STATUS,
        f"{ma_folder}/memsqlTracelogs/10.20.0.10_3306_memsql.log": "\n".join(MA_LINES) + "\n",
        f"{leaf_folder}/memsqlTracelogs/{leaf_log}": "\n".join(ENOSPC_LINES) + "\n",
        f"{leaf_folder}/free": "total used free\nMem: 64 60 4\n",
    }
    for name, text in files.items():
        path = root / "report" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "report"


@pytest.mark.parametrize(
    "ma_folder,leaf_folder,leaf_log",
    [
        # dots written as dashes (probe y01), with and without the address in the file name
        ("node-10-20-0-10-MA", "node-10-20-0-24-LEAF", "10.20.0.24_3306_memsql.log"),
        ("node-10-20-0-10-MA", "node-10-20-0-24-LEAF", "memsql.log"),
        ("10-20-0-10-MA", "10-20-0-24-LEAF", "memsql.log"),
        # a folder by host name the tables do not spell: the file name they know decides
        ("sdb-ma-0-MA", "sdb-leaf-4-LEAF", "10.20.0.24_3306_memsql.log"),
    ],
)
def test_the_target_leaf_is_the_name_the_tables_know(
    tmp_path: Path, ma_folder: str, leaf_folder: str, leaf_log: str
) -> None:
    root = _report(tmp_path, ma_folder, leaf_folder, leaf_log)
    bundle = load_bundle(root)
    assert "10.20.0.24:3306" in bundle.nodes.get_column("node").to_list()
    # every file of the leaf's folder is that node, its `free` output as much as its log
    leaf_files = bundle.files.filter(bundle.files.get_column("path").str.contains(leaf_folder))
    assert set(leaf_files.get_column("node").to_list()) == {"10.20.0.24:3306"}
    report = analyze_bundle(bundle)
    (verdict,) = report.verdicts
    assert (verdict.phase, verdict.cause) == ("copy", "storage_error")
    assert not [w for w in report.warnings if UNTIED in w]


def test_the_ma_folder_spelled_with_dashes_agrees_with_its_file_name(tmp_path: Path) -> None:
    """The master aggregator is in no table here: its folder and file name agree."""
    bundle = load_bundle(
        _report(tmp_path, "node-10-20-0-10-MA", "node-10-20-0-24-LEAF", "memsql.log")
    )
    assert bundle.nodes.get_column("node").to_list() == ["10.20.0.10:3306", "10.20.0.24:3306"]


def test_a_dashed_folder_the_tables_do_not_know_keeps_its_name(tmp_path: Path) -> None:
    """A dashed name is read as an address only where that address is a node's."""
    bundle = load_bundle(_report(tmp_path, "sdb-ma-0-MA", "node-10-20-0-99-LEAF", "memsql.log"))
    assert "node-10-20-0-99" in bundle.nodes.get_column("node").to_list()


KNOWN = {"10.20.0.24:3306": "leaf", "10.20.0.29:3306": "leaf", "10.20.0.10:3306": "leaf"}


@pytest.mark.parametrize(
    "inner,node",
    [
        # the folder first where the tables know it, whatever the file name says
        ("r/10.20.0.24-LEAF/memsqlTracelogs/10.20.0.29_3306_memsql.log", "10.20.0.24:3306"),
        # the file name where only it is known
        ("r/sdb-leaf-4-LEAF/memsqlTracelogs/10.20.0.24_3306_memsql.log", "10.20.0.24:3306"),
        ("r/sdb-leaf-4_3306/10.20.0.24_3306_memsql.log", "10.20.0.24:3306"),
        # a folder named by the host the tables know, beside a log named by another
        ("r/10.20.0.29/tracelogs/sdb-leaf-4_memsql.log", "10.20.0.29:3306"),
        # a spelling of the tables' node, port and all
        ("r/ip-10-20-0-24_3306/memsql.log", "10.20.0.24:3306"),
        # none known: the folder, as before (b17)
        ("r/sdb-ma-MA/memsqlTracelogs/10.2.0.10_3306_memsql.log", None),
        ("r/node-10-20-0-77-LEAF/memsqlTracelogs/memsql.log", None),
    ],
)
def test_the_known_name_is_chosen(inner: str, node: str | None) -> None:
    got = identify(inner)
    assert chosen_node(got.node, got.others, got.role, KNOWN) == node


def test_the_other_names_a_path_gives() -> None:
    got = identify("r/sdb-leaf-4-LEAF/memsqlTracelogs/10.20.0.24_3306_memsql.log")
    assert (got.node, got.host_only, got.others) == ("sdb-leaf-4", True, ("10.20.0.24:3306",))
    same = identify("r/node-10-20-0-24-LEAF/memsqlTracelogs/10.20.0.24_3306_memsql.log")
    assert (same.node, same.others) == ("10.20.0.24:3306", ())


@pytest.mark.parametrize(
    "host,address",
    [
        ("node-10-20-0-13", "10.20.0.13"),
        ("10-20-0-13", "10.20.0.13"),
        ("ip-10-20-0-13.ec2.internal", "10.20.0.13"),
        ("ec2-54-12-3-4.compute-1.amazonaws.com", "54.12.3.4"),
        ("node-10-20-0-300", None),
        ("sdb-leaf-4", None),
        ("db-2026-03-11", None),
    ],
)
def test_addresses_spelled_with_dashes(host: str, address: str | None) -> None:
    assert spelled_address(host) == address


def test_a_dashed_name_is_the_address_only_to_compare() -> None:
    assert same_host("node-10-20-0-13", "10.20.0.13")
    assert not same_host("node-10-20-0-13", "10.20.0.14")
    assert identify("r/node-10-20-0-13-LEAF/free").node == "node-10-20-0-13"


@pytest.mark.parametrize(
    "inner,node",
    [
        ("sdb-ma-01_memsql.log", "sdb-ma-01"),
        ("logs/sdb-ma-01_memsql.log.2.gz", "sdb-ma-01"),
        ("10.20.0.24_memsql.log", "10.20.0.24"),
    ],
)
def test_a_log_named_by_its_host_without_a_port(inner: str, node: str) -> None:
    """Not the file name as the node (a scan probe's ``sdb-ma-01_memsql.log``): the host,
    which the cluster tables complete with its port."""
    got = identify(inner)
    assert (got.node, got.host_only) == (node, True)
    assert chosen_node(got.node, got.others, got.role, {f"{node}:3306": "leaf"}) == f"{node}:3306"


@pytest.mark.parametrize("inner", ["leaf2_memsql.log", "MA-memsql.log", "old_memsql.log"])
def test_a_single_word_before_memsql_log_is_no_host(inner: str) -> None:
    assert identify(inner).from_path
