"""Options of analyze that change what is read: --tz, --since/--until, --redundancy, --node."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from forensics.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LOGS_ONLY = FIXTURES / "logs_only_promote_failure"


def _analyze(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["analyze", *args, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def _failure(report: dict[str, Any]) -> dict[str, Any]:
    return next(v for v in report["verdicts"] if v["status"] == "failure")


def test_tz_shifts_every_time_and_is_stated() -> None:
    _, utc = _analyze(str(LOGS_ONLY))
    _, berlin = _analyze(str(LOGS_ONLY), "--tz", "Europe/Berlin")
    assert berlin["input"]["timezone"] == "Europe/Berlin"
    assert any("Europe/Berlin" in a for a in berlin["assumptions"])
    t_utc, t_berlin = (datetime.fromisoformat(_failure(r)["time"]) for r in (utc, berlin))
    # the same log line read in Berlin (winter): an hour earlier ...
    assert t_utc - t_berlin == timedelta(hours=1)
    # ... and written in the assumed zone (SPEC §2.4): the log's own wall clock
    assert t_berlin.utcoffset() == timedelta(hours=1)
    assert t_berlin.replace(tzinfo=None) == t_utc.replace(tzinfo=None)
    assert (_failure(utc)["phase"], _failure(utc)["cause"]) == (
        _failure(berlin)["phase"],
        _failure(berlin)["cause"],
    )


def test_a_node_zone_is_stated() -> None:
    """--tz NODE=ZONE is said in the assumptions, for that node only."""
    _, report = _analyze(str(LOGS_ONLY), "--tz", "10.0.10.21=Europe/Berlin")
    mine = [a for a in report["assumptions"] if "Europe/Berlin" in a]
    assert mine == ["tracelog timestamps of 10.0.10.21:3306 read as Europe/Berlin "
                    "(--tz 10.0.10.21:3306=Europe/Berlin)"]  # fmt: skip


def test_a_node_zone_is_stated_in_the_markdown(tmp_path: Path) -> None:
    """The Markdown is what is pasted into the ticket: it names the node's own zone."""
    out = tmp_path / "report.md"
    result = CliRunner().invoke(
        main, ["analyze", str(LOGS_ONLY), "--tz", "10.0.10.21=Asia/Kolkata", "--md", str(out)]
    )
    assert result.exit_code in (0, 1), result.output
    assert "timestamps as UTC (10.0.10.21:3306: Asia/Kolkata)" in out.read_text()


def test_unknown_tz_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["analyze", str(LOGS_ONLY), "--tz", "Mars/Olympus"])
    assert result.exit_code == 2
    assert "unknown time zone" in result.output
    assert "Traceback" not in result.output


def test_until_before_the_rebalance_leaves_nothing_failed() -> None:
    _, report = _analyze(str(LOGS_ONLY), "--until", "2000-01-01T00:00")
    assert not any(
        v["status"] == "failure" and v["cause"] not in (None, "unknown") for v in report["verdicts"]
    )


def test_redundancy_option_is_used_when_the_bundle_has_none() -> None:
    _, report = _analyze(str(LOGS_ONLY), "--redundancy", "1")
    dbs = report["impact"]["databases"]
    assert dbs and all(d["redundancy"] == 1 and not d["redundancy_assumed"] for d in dbs)


def test_node_override_names_a_log_without_identity(tmp_path: Path) -> None:
    log = next(LOGS_ONLY.glob("10.0.10.10_*"))
    shutil.copyfile(log, tmp_path / "memsql.log")
    _, plain = _analyze(str(tmp_path))
    assert plain["nodes"][0]["node"].endswith("memsql.log")
    _, named = _analyze(str(tmp_path), "--node", "memsql.log=10.0.10.10:3306")
    assert named["nodes"][0]["node"] == "10.0.10.10:3306"


def test_a_fixed_offset_time_zone_is_accepted_and_an_empty_window_refused() -> None:
    bundle = str(FIXTURES / "copy_out_of_memory")
    runner = CliRunner()
    utc = runner.invoke(main, ["analyze", bundle, "--format", "json"])
    shifted = runner.invoke(main, ["analyze", bundle, "--format", "json", "--tz", "+01:00"])
    assert shifted.exit_code == utc.exit_code == 1
    first = [json.loads(r.stdout)["nodes"][0]["first_ts"] for r in (utc, shifted)]
    assert first[0] != first[1] and first[1].startswith(first[0][:11])  # one hour earlier
    half = runner.invoke(main, ["analyze", bundle, "--tz", "+05:30"])
    assert half.exit_code == 2 and "Asia/Kolkata" in half.output
    empty = runner.invoke(
        main, ["analyze", bundle, "--since", "2026-02-12", "--until", "2026-02-11"]
    )
    assert empty.exit_code == 2 and "later than --until" in empty.output
    nothing = runner.invoke(main, ["analyze", bundle, "--max-bytes", "0"])
    assert nothing.exit_code == 2


def test_a_window_is_stated_and_warns_when_it_cuts_the_rebalance() -> None:
    """--since/--until are said in the assumptions; a window that leaves out lines of the
    rebalance itself says so, and does not claim the aggregator's log is missing."""
    _, report = _analyze(str(LOGS_ONLY), "--since", "2026-03-09T06:29:00+00:00")
    (stated,) = [a for a in report["assumptions"] if "--since/--until" in a]
    assert stated.startswith("only log lines from 2026-03-09T06:29:00+00:00 to the end")
    assert any("window leaves out" in w for w in report["warnings"]), report["warnings"]
    assert not any("likely missing" in w for w in report["warnings"])


def test_a_zone_for_a_node_not_in_the_bundle_is_a_warning() -> None:
    _, report = _analyze(str(LOGS_ONLY), "--tz", "10.0.10.21:3307=Europe/Berlin")
    (warning,) = [w for w in report["warnings"] if "--tz 10.0.10.21:3307" in w]
    assert "no node 10.0.10.21:3307 in the bundle" in warning


def _outputs(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["analyze", *args])
    return result.exit_code, result.output


def test_a_report_never_writes_over_a_file_of_the_bundle(tmp_path: Path) -> None:
    """SPEC §9: inputs are read-only. A report saved in the bundle by an earlier run may
    be written again; the customer's status output may not."""
    bundle = tmp_path / "b"
    shutil.copytree(LOGS_ONLY, bundle)
    victim = next(p for p in sorted(bundle.rglob("*")) if p.is_file() and "memsql" in p.name)
    before = victim.read_bytes()
    code, out = _outputs(str(bundle), "--json", str(victim))
    assert code == 2 and out.count("\n") == 1 and "file of the input" in out
    assert victim.read_bytes() == before
    assert _outputs(str(bundle), "--md", str(bundle / "report.md"))[0] in (0, 1)
    assert _outputs(str(bundle), "--md", str(bundle / "report.md"))[0] in (0, 1)  # again


def test_two_outputs_on_one_file_or_on_a_folder_are_usage_errors(tmp_path: Path) -> None:
    same = str(tmp_path / "r.out")
    code, out = _outputs(str(LOGS_ONLY), "--json", same, "--html", same)
    assert code == 2 and "two outputs" in out and out.count("\n") == 1
    code, out = _outputs(str(LOGS_ONLY), "--html", str(tmp_path))
    assert code == 2 and "it is a folder" in out and out.count("\n") == 1


def test_a_naive_window_is_read_in_the_zone_given() -> None:
    """--since without a zone is in the --tz zone (a crash had come of comparing it with
    the UTC times of the events); so is it in the library call, as text."""
    code, report = _analyze(str(LOGS_ONLY), "--tz", "Europe/Paris", "--since", "2020-01-01T00:00")
    assert code == 1 and _failure(report)["phase"] == "promote"
    assert any("2020-01-01T00:00:00+01:00" in a for a in report["assumptions"])
    from forensics import analyze

    later = analyze(LOGS_ONLY, tz="+02:00", since="2999-01-01T00:00")
    assert all(v.status != "failure" for v in later.verdicts)


def test_outputs_that_are_no_regular_file_are_written_into_not_replaced(tmp_path: Path) -> None:
    """A symbolic link is written through; a named pipe stays a pipe (as /dev/null would:
    the report had replaced such paths with files)."""
    import os
    import threading

    target = tmp_path / "target.md"
    link = tmp_path / "link.md"
    link.symlink_to(target)
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()))
    reader.start()
    result = CliRunner().invoke(
        main, ["analyze", str(LOGS_ONLY), "--md", str(link), "--json", str(pipe)]
    )
    reader.join(timeout=30)
    assert result.exit_code == 1, result.output
    assert link.is_symlink() and target.read_text().startswith("#")
    assert pipe.is_fifo() and json.loads(got[0])["schema"] == "forensics.report/v1"


def test_scan_never_writes_over_an_input_or_a_file_that_is_no_table(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(LOGS_ONLY, bundle)
    notes = tmp_path / "notes.parquet"
    notes.write_text("my notes")
    an_input = next(p for p in bundle.rglob("*") if p.is_file())
    before = an_input.read_bytes()
    for output in (an_input, notes):
        result = CliRunner().invoke(main, ["scan", str(bundle), "-o", str(output)])
        assert result.exit_code == 2, result.output
        assert "not written over" in result.output
    assert an_input.read_bytes() == before and notes.read_text() == "my notes"


def test_node_overrides_with_a_bad_port_or_matching_nothing_say_so() -> None:
    bad = CliRunner().invoke(main, ["analyze", str(LOGS_ONLY), "--node", "*=h:port"])
    assert bad.exit_code == 2 and "port must be a number" in bad.output
    _, report = _analyze(str(LOGS_ONLY), "--node", "nomatch*=10.9.9.9:3306")
    assert any("nomatch*" in w and "matches no file" in w for w in report["warnings"])


def test_a_user_rule_in_place_of_a_built_in_one_is_stated(tmp_path: Path) -> None:
    line = "1000 2026-02-11 02:00:00.000   WARN: reaper {} conn 5"
    (tmp_path / "kill.toml").write_text(
        '[[rule]]\nid = "KILL01"\ntitle = "Site reaper"\ncause = "kill"\nphases = ["copy"]\n'
        'severity = "high"\nwhen = \'message contains "reaper killed"\'\nexplanation = "x"\n'
        'remediation = "y"\n'
        f'examples = {{ match = [["{line.format("killed")}"]], '
        f'no_match = [["{line.format("idle")}"]] }}\n'
    )
    _, report = _analyze(str(LOGS_ONLY), "--rules", str(tmp_path))
    (said,) = [a for a in report["assumptions"] if "KILL01" in a]
    assert "Site reaper" in said and "in place of the built-in rule" in said


def test_an_events_filter_with_another_kind_is_a_usage_error() -> None:
    """--level and --grep filter the events frame; with --kind steps they had been
    ignored without a word (the same 32 rows either way)."""
    result = CliRunner().invoke(
        main, ["events", str(LOGS_ONLY), "--kind", "steps", "--level", "ERROR"]
    )
    assert result.exit_code == 2 and "--kind steps has none" in result.output


def test_scan_output_must_be_a_parquet_name_and_utc_is_read_in_any_case(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["scan", str(LOGS_ONLY), "-o", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "ending in .parquet" in result.output
    assert not (tmp_path / "x.csv").exists()
    _, report = _analyze(str(LOGS_ONLY), "--tz", "utc")
    assert report["input"]["timezone"] == "UTC"
