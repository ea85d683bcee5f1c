"""The fixture bundles are generated: the script must reproduce them byte for byte, and
every expected.json must follow docs/CONTRACTS.md."""

from __future__ import annotations

import gzip
import io
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import zstandard
from test_end_to_end import IMPACT_FIELDS

from forensics.rules.model import CAUSES as RULE_CAUSES
from forensics.rules.model import FACTORS as RULE_FACTORS

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SCENARIOS = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.json").is_file())

# the closed vocabularies of SPEC §4.2, as the rule engine defines them
CAUSES = set(RULE_CAUSES) | {"unknown"}
FACTORS = set(RULE_FACTORS)
PHASES = {"copy", "promote", "drop"}
IMPACT_DB_KEYS = set(IMPACT_FIELDS) | {"database"}
EPOCH = datetime(1970, 1, 1)
TRACELOG = re.compile(
    r"^(?:(\d+)\s+)?(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}\.\d+)\s+([A-Z]+):\s(.*)$"
)


def _tree(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fixtures")
    subprocess.run([sys.executable, str(FIXTURES / "generate.py"), "--out", str(out)], check=True)
    return out


def test_there_are_enough_fixtures() -> None:
    assert len(SCENARIOS) >= 13


@pytest.mark.slow
def test_generator_reproduces_committed_fixtures(regenerated: Path) -> None:
    fresh = _tree(regenerated)
    committed = {
        rel: p
        for rel, p in _tree(FIXTURES).items()
        if rel == "README.md" or rel.split("/")[0] in SCENARIOS
    }
    assert sorted(fresh) == sorted(committed), "fixture file lists differ: run `make fixtures`"
    changed = [rel for rel in fresh if fresh[rel].read_bytes() != committed[rel].read_bytes()]
    assert not changed, f"regenerated fixtures differ from the committed ones: {changed[:5]}"


def test_fixtures_stay_small() -> None:
    total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    assert total < 25 * 1024 * 1024


@pytest.mark.parametrize("name", SCENARIOS)
def test_expected_json_follows_the_contract(name: str) -> None:
    exp = json.loads((FIXTURES / name / "expected.json").read_text())
    assert exp["scenario"] == name
    assert isinstance(exp["hard"], str) and exp["hard"]
    assert exp["exit_code"] in (0, 1)
    assert exp["verdicts"]
    for v in exp["verdicts"]:
        assert set(v) == {"database", "status", "phase", "cause"}
        assert v["status"] in ("failure", "no_failure", "inconclusive")
        if v["status"] == "failure":
            assert v["phase"] in PHASES and v["cause"] in CAUSES
    assert set(exp["contributing"]) <= FACTORS
    assert isinstance(exp["recovery"]["blocked_steps"], list)
    imp = exp["impact"]
    if imp is None:
        return
    assert set(imp) == {"data_at_risk", "extra_bytes_estimate", "databases"}
    for db in imp["databases"]:
        assert set(db) == IMPACT_DB_KEYS
        assert db["extra_copies"] >= len(db["orphans"])
        for o in db["orphans"]:
            assert set(o) == {"ordinal", "node", "ahead_of_master"} and ":" in o["node"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_expected_json_is_self_consistent(name: str) -> None:
    exp = json.loads((FIXTURES / name / "expected.json").read_text())
    imp = exp["impact"]
    dbs = imp["databases"] if imp else []
    risky = any(d["partitions_without_master"] or d["under_redundant"] for d in dbs)
    failed = any(v["status"] == "failure" for v in exp["verdicts"])
    assert exp["exit_code"] == (1 if failed or risky else 0)
    assert exp["recovery"]["blocked_steps"] == ([5] if risky else [])
    if imp:
        assert imp["data_at_risk"] == any(d["partitions_without_master"] for d in dbs)
        sizes = [d["extra_bytes_estimate"] for d in dbs]
        assert imp["extra_bytes_estimate"] == (None if None in sizes else sum(sizes))


# --------------------------------------------------------------------- tracelog checks


def _expand(name: str, data: bytes, depth: int = 0) -> Iterator[tuple[str, bytes]]:
    """Members of an archive (one nested level), with .gz/.zst members decompressed."""
    lower = name.lower()
    if depth < 2 and lower.endswith((".tar.gz", ".tgz", ".tar.zst", ".tar")):
        if lower.endswith(".tar.zst"):
            data = zstandard.ZstdDecompressor().decompress(data)
        elif not lower.endswith(".tar"):
            data = gzip.decompress(data)
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            for m in tf.getmembers():
                if m.isfile():
                    f = tf.extractfile(m)
                    assert f is not None
                    yield from _expand(f"{name}/{m.name}", f.read(), depth + 1)
    elif depth < 2 and lower.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    yield from _expand(f"{name}/{info.filename}", zf.read(info), depth + 1)
    elif lower.endswith(".gz"):
        yield name[:-3], gzip.decompress(data)
    elif lower.endswith(".zst"):
        yield name[:-4], zstandard.ZstdDecompressor().decompress(data)
    else:
        yield name, data


def _tracelogs(name: str) -> dict[str, list[str]]:
    logs = {}
    for rel, path in _tree(FIXTURES / name).items():
        if rel == "expected.json":
            continue
        for member, data in _expand(rel, path.read_bytes()):
            if "memsql.log" in member.rsplit("/", 1)[-1]:
                logs[member] = data.decode().splitlines()
    return logs


def _node_of(member: str) -> str:
    """Group rotated parts of one node's log together."""
    return re.sub(r"(memsql\.log)(\.\d+)?$", r"\1", member)


@pytest.mark.parametrize("name", SCENARIOS)
def test_tracelogs_use_the_real_layout(name: str) -> None:
    logs = _tracelogs(name)
    nodes: dict[str, int] = {}
    for member, lines in logs.items():
        nodes[_node_of(member)] = nodes.get(_node_of(member), 0) + len(lines)
        offset = None
        for i, line in enumerate(lines, 1):
            m = TRACELOG.match(line)
            assert m, f"{member}:{i}: not a tracelog line: {line!r}"
            level, ts = m.group(4), f"{m.group(2)} {m.group(3)}"
            assert level in ("INFO", "WARN", "ERROR", "FAILURE")
            pad = len(line) - len(line.lstrip("0123456789")) + 24
            field = " " + level.rjust(6) + ":"
            assert line[pad : pad + len(field)] == field, f"{member}:{i}: level not right-aligned"
            # the uptime counter follows the clock (µs) and only jumps back on a restart
            clock = _micros(ts)
            up = int(m.group(1))
            if offset is not None and not (0 <= clock - up - offset + 1000 <= 2000):
                assert up < 10**9, f"{member}:{i}: uptime counter out of step with the clock"
            offset = clock - up
    assert 3 <= len(nodes) <= 5, nodes
    assert sum(nodes.values()) / len(nodes) >= 3000


def _micros(ts: str) -> int:
    return (datetime.strptime(ts, "%Y-%m-%d %H:%M:%S.%f") - EPOCH) // timedelta(microseconds=1)
