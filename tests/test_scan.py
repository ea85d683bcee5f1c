"""Batch scan over the fixture bundles (SPEC §7)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from forensics.cli import main
from forensics.scan import INCIDENTS, INPUT_STATS, Input, find_inputs, scan_file, stats_path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _expected_failures() -> dict[str, set[tuple[str, str, str]]]:
    out = {}
    for exp in sorted(FIXTURES.glob("*/expected.json")):
        doc = json.loads(exp.read_text())
        out[exp.parent.name] = {
            (v["database"], v["phase"], v["cause"])
            for v in doc["verdicts"]
            if v["status"] == "failure"
        }
    return out


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("scan") / "incidents.parquet"
    result = CliRunner().invoke(main, ["scan", str(FIXTURES), "-o", str(out), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    return out, [result.output]


def _scenario_of(path: str) -> str:
    return Path(path).resolve().relative_to(FIXTURES).parts[0]


def test_one_input_per_fixture_bundle() -> None:
    found = [i.paths[0] for i in find_inputs([FIXTURES])]
    inputs = [p for p in found if p.relative_to(FIXTURES).parts[0] != "broken"]
    assert {p.relative_to(FIXTURES).parts[0] for p in inputs} == set(_expected_failures())
    assert len(inputs) == len(_expected_failures())


def test_scan_finds_every_failure_with_its_phase_and_cause(scanned: tuple[Path, list[str]]) -> None:
    out, _ = scanned
    incidents = pl.read_parquet(out)
    assert incidents.schema == INCIDENTS
    for scenario, wanted in _expected_failures().items():
        rows = incidents.filter(pl.col("input").str.contains(f"/{scenario}(/|$)"))
        got = {
            (r["database"], r["phase"], r["cause"])
            for r in rows.iter_rows(named=True)
            if r["status"] == "failure"
        }
        assert got == wanted, scenario
    stats = pl.read_parquet(stats_path(out))
    assert stats.schema == INPUT_STATS
    scenarios = stats.filter(
        pl.col("input")
        .map_elements(_scenario_of, return_dtype=pl.String)
        .is_in(list(_expected_failures()))
    )
    assert scenarios.height == len(_expected_failures())
    assert scenarios.get_column("error").null_count() == scenarios.height
    assert (scenarios.get_column("lines") > 0).all()
    # the broken-input corpus is scanned too: recorded, never fatal
    assert stats.height > scenarios.height


def test_second_run_skips_everything_read(scanned: tuple[Path, list[str]]) -> None:
    """Everything read the first time is skipped; what ended in an error is tried again."""
    out, _ = scanned
    before = pl.read_parquet(out)
    stats = pl.read_parquet(stats_path(out))
    failed = stats.filter(pl.col("error").is_not_null()).height
    result = CliRunner().invoke(main, ["scan", str(FIXTURES), "-o", str(out)])
    assert result.exit_code == 0
    assert "0 incident(s) in" not in result.output
    assert f"{stats.height - failed} skipped as already scanned" in result.output
    assert pl.read_parquet(out).equals(before)


def test_scan_file_is_a_plain_call_on_a_loose_log(tmp_path: Path) -> None:
    source = next((FIXTURES / "logs_only_promote_failure").rglob("*10.0.10.1*memsql.log*"))
    log = tmp_path / "memsql.log"
    shutil.copyfile(source, log)
    result = scan_file(log)
    assert result.stats.item(0, "error") is None
    assert result.incidents.filter(pl.col("status") == "failure").height == 1
    assert result.incidents.item(0, "phase") == "promote"


def test_unreadable_input_is_recorded_not_raised(tmp_path: Path) -> None:
    bad = tmp_path / "broken.tar.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    result = scan_file(bad)
    assert result.incidents.height == 0
    assert result.stats.item(0, "error")


def test_a_folder_of_tickets_with_a_loose_log_is_several_inputs(tmp_path: Path) -> None:
    """Bundles (a folder, an archive) and a loose rotated log side by side: each is an
    input. One loose log must not make the whole folder one bundle."""
    shutil.copytree(FIXTURES / "copy_out_of_memory", tmp_path / "case_1")
    shutil.copyfile(
        next((FIXTURES / "copy_kill_script").glob("*.tar.gz")), tmp_path / "case_2.tar.gz"
    )
    log = next((FIXTURES / "logs_only_promote_failure").glob("10.0.10.10_3306_memsql.log"))
    shutil.copyfile(log, tmp_path / "10.0.10.10_3306_memsql.log.1")
    names = sorted(Path(i.name).name for i in find_inputs([tmp_path]))
    assert names == ["10.0.10.10_3306_memsql.log.1", "case_1", "case_2.tar.gz"]
    # a bundle folder with loose logs and one folder of tables stays one input
    one = tmp_path / "one"
    shutil.copytree(FIXTURES / "logs_only_promote_failure", one)
    (one / "sql").mkdir()
    shutil.move(one / "dp.txt", one / "sql" / "dp.txt")
    assert find_inputs([one]) == [Input((one,))]


def test_an_input_that_changed_replaces_its_rows(tmp_path: Path) -> None:
    bundle = tmp_path / "in" / "bundle"
    shutil.copytree(FIXTURES / "logs_only_promote_failure", bundle)
    out = tmp_path / "incidents.parquet"
    first = CliRunner().invoke(main, ["scan", str(tmp_path / "in"), "-o", str(out)])
    assert first.exit_code == 0, first.output
    before = pl.read_parquet(stats_path(out))
    incidents = pl.read_parquet(out).height
    (bundle / "notes.txt").write_text("the customer retried at 11:00\n")
    again = CliRunner().invoke(main, ["scan", str(tmp_path / "in"), "-o", str(out)])
    assert again.exit_code == 0, again.output
    stats = pl.read_parquet(stats_path(out))
    assert stats.height == before.height == 1
    assert stats.item(0, "input_hash") != before.item(0, "input_hash")
    assert pl.read_parquet(out).height == incidents >= 1


def test_an_output_that_is_no_scan_table_is_a_usage_error(tmp_path: Path) -> None:
    out = tmp_path / "other.parquet"
    pl.DataFrame({"x": [1]}).write_parquet(out)
    pl.DataFrame({"x": [1]}).write_parquet(tmp_path / "other.inputs.parquet")
    result = CliRunner().invoke(main, ["scan", str(FIXTURES / "rebalance_success"), "-o", str(out)])
    assert result.exit_code == 2 and "other.parquet" in result.output
    out.write_bytes(b"not parquet at all")
    result = CliRunner().invoke(main, ["scan", str(FIXTURES / "rebalance_success"), "-o", str(out)])
    assert result.exit_code == 2 and "other.parquet" in result.output


def test_the_same_input_twice_in_one_run_is_scanned_once(tmp_path: Path) -> None:
    for name in ("ticket-1001", "ticket-1004-reupload"):
        shutil.copytree(FIXTURES / "copy_out_of_memory", tmp_path / "in" / name)
    out = tmp_path / "x.parquet"
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "in"), "-o", str(out)])
    assert result.exit_code in (0, 1), result.output
    assert pl.read_parquet(out).height == 1


def test_one_failure_in_two_bundles_of_a_ticket_is_marked_as_one_incident(tmp_path: Path) -> None:
    # day 1 and day 2 of one cluster: the second bundle's MA log has a day more of lines
    for name in ("day1", "day2"):
        shutil.copytree(FIXTURES / "copy_out_of_memory", tmp_path / "in" / name)
    ma_log = tmp_path / "in" / "day2" / "10.0.1.10_3306" / "tracelogs" / "memsql.log"
    with ma_log.open("a") as log:
        log.write("99999999999 2026-02-12 09:00:00.000   INFO: Heartbeat: node [2] answered\n")
    out = tmp_path / "x.parquet"
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "in"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 incident(s), 1 of them also in another input" in result.output
    rows = pl.read_parquet(out).sort("input")
    assert rows["phase"].to_list() == ["copy", "copy"]
    day1 = str(tmp_path / "in" / "day1")
    assert rows["same_incident_as"].to_list() == [None, day1]
