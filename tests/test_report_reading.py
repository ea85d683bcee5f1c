"""What a support engineer reads in the HTML, Markdown and terminal reports (SPEC §6.3, §6.4).

Each test checks words the reports show: the data-at-risk reason, blocked SQL that cannot
run by accident, a cancelled rebalance, an absent timeline, times in the analysed zone,
evidence without a node, ordinal columns, the redaction note. Built on the synthetic report
of ``test_report_html`` (no parsing) and one small status-only bundle written inline.
"""

from __future__ import annotations

import dataclasses
import html as html_lib
import io
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from test_report_html import MA, StubImpact, synthetic_report

import forensics
from forensics.analysis import Report
from forensics.diagnose import Verdict
from forensics.report import figures, html, markdown, terminal, wording
from forensics.timeline import Rebalance

NO_MASTER = "yes — 3 partitions without a master (sales:3, 5, 7)"


def _terminal(report: Report) -> str:
    out = io.StringIO()
    terminal.show(report, Console(file=out, width=400, force_terminal=False))
    return out.getvalue()


def _text(page: str) -> str:
    """The HTML page's visible text (scripts and styles dropped, entities decoded)."""
    body = re.sub(r"(?s)<(script|style)\b.*?</\1>", "", page)
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def _db(**over: Any) -> dict[str, Any]:
    base = {
        "database": "sales",
        "redundancy": 2,
        "redundancy_assumed": False,
        "partitions": 8,
        "partitions_without_master": [],
        "under_redundant": [],
        "over_redundant": [],
        "orphans": [],
        "extra_copies": 0,
        "extra_bytes_estimate": 0,
        "phase": "promote",
        "phase_statements": [],
        "snapshot_diff": None,
        "per_node_extra_bytes": {},
    }
    return {**base, **over}


def _impact(db: dict[str, Any], at_risk: bool | None = None, **over: Any) -> StubImpact:
    risk = bool(db["partitions_without_master"]) if at_risk is None else at_risk
    return StubImpact({"data_at_risk": risk, "extra_bytes_estimate": 0, "databases": [db], **over})


# --------------------------------------------------------------------------- 1 data at risk

ORPHAN = {"ordinal": 5, "node": "10.0.0.4:3306", "ahead_of_master": True}


@pytest.mark.parametrize(
    ("db", "extra", "said"),
    [
        (_db(partitions_without_master=[3, 5, 7], under_redundant=[0, 4]), {}, NO_MASTER),
        (
            _db(partitions_without_master=[5], orphans=[{**ORPHAN, "ahead_of_master": False}]),
            {},
            "yes — 1 partition without a master (sales:5)",
        ),
        (
            _db(orphans=[ORPHAN], under_redundant=[2]),
            {},
            "yes — data only on an orphan (sales:5 on 10.0.0.4:3306)",
        ),
        (
            _db(under_redundant=[0, 4]),
            {"data_at_risk": None, "unseen": [{"database": "orders", "data_at_risk": None}]},
            "unknown — no SHOW PARTITIONS after the failure of orders",
        ),
        (_db(under_redundant=[0, 4]), {}, "no — redundancy reduced (sales:0, 4 under redundancy)"),
        (_db(over_redundant=[1]), {}, "no"),
    ],
    ids=["no-master", "one", "orphan-ahead", "unknown", "reduced", "no"],
)
def test_data_at_risk_names_the_worst_reason(
    db: dict[str, Any], extra: dict[str, Any], said: str
) -> None:
    data = _impact(db).data
    assert data is not None
    assert wording.risk({**data, **extra}).text == said


def test_the_three_reports_agree_on_a_partition_without_a_master() -> None:
    report = synthetic_report(200)
    report.impact = _impact(_db(partitions_without_master=[3, 5, 7], under_redundant=[0, 4]))  # type: ignore[assignment]
    page = html.render(report)
    assert f'<dd class="risk-yes">{NO_MASTER}</dd>' in page  # the verdict banner
    assert f'<strong class="risk-yes">{NO_MASTER}</strong>' in page  # the impact section
    assert "redundancy reduced" not in _text(page)
    assert f"- Data at risk: **{NO_MASTER}**" in markdown.render(report)
    assert f"Data at risk: {NO_MASTER}" in _terminal(report)


# --------------------------------------------------------------------------- 2 blocked SQL

BLOCKED = "partition sales:5 has no master: an orphan may hold the only copy — re-attach it first"


def _runbook_report() -> Report:
    report = synthetic_report(200)
    report.recovery = [
        {
            "step": n,
            "title": f"Step {n}",
            "detail": "",
            "sql": [f"SELECT {n};"]
            if n < 5
            else ["EXPLAIN CLEAR ORPHAN DATABASES;", "CLEAR ORPHAN DATABASES;"],
            "blocked_by": BLOCKED if n == 5 else None,
        }
        for n in range(1, 6)
    ]
    return report


def test_blocked_sql_is_commented_out_in_html_and_markdown() -> None:
    report = _runbook_report()
    mark = "-- BLOCKED (partition sales:5 has no master): "
    page = html.render(report)
    step5 = page.split('id="step-5"', 1)[1].split("</div>\n</div>", 1)[0]
    code = html_lib.unescape(re.search(r'<code id="sql-5"[^>]*>(.*?)</code>', step5, re.S)[1])  # type: ignore[index]
    assert code.splitlines() == [
        mark + "EXPLAIN CLEAR ORPHAN DATABASES;",
        mark + "CLEAR ORPHAN DATABASES;",
    ]
    assert ">Copy (commented out: blocked)</button>" in step5
    assert '<code id="sql-4" class="language-sql">SELECT 4;</code>' in page  # unblocked: as is
    assert page.count(">Copy</button>") == 4
    md = markdown.render(report)
    assert f"   {mark}CLEAR ORPHAN DATABASES;" in md
    assert "\n   CLEAR ORPHAN DATABASES;" not in md and "   SELECT 4;" in md
    assert f"{mark}CLEAR ORPHAN DATABASES;" in _terminal(report)


# --------------------------------------------------------------------------- 3 no timeline

ERROR = "Failed: Leaf Error (10.20.0.22:3306): Can't connect to MySQL server on '10.20.0.22' (111)"
STATUS = "\n".join(
    [
        "mysql> SHOW REBALANCE STATUS ON ledger;",
        "| Action | Ordinal | Target_Host | Target_Port | Phase | Status | Running_Time |",
        "|---|---|---|---|---|---|---|",
        "| COPY PARTITION | 5 | 10.20.0.23 | 3306 | 1 | success | 82249 |",
        f"| PROMOTE PARTITION WITH DROP | 5 | 10.20.0.23 | 3306 | 2 | {ERROR} | 64044 |",
        "| DROP PARTITION | 5 | 10.20.0.21 | 3306 | 3 | cancelled | 0 |",
        "",
    ]
)


def _partitions() -> str:
    """SHOW PARTITIONS: ordinals 0-7 on two leaves, ordinal 5 left with a replica only."""
    rows = [
        f"| {o} | 10.20.0.{21 + (o + k) % 2} | 3306 | {role} | 0 |"
        for o in range(8)
        for k, role in enumerate(("Master", "Replica"))
        if not (o == 5 and role == "Master")
    ]
    head = ["mysql> SHOW PARTITIONS ON ledger;", "| Ordinal | Host | Port | Role | Locked |"]
    return "\n".join([*head, "|---|---|---|---|---|", *rows, ""])


@pytest.fixture(scope="module")
def status_only(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """A failed rebalance known from SHOW REBALANCE STATUS only: no log line, no time."""
    root: Path = tmp_path_factory.mktemp("status_only")
    (root / "rebalance_status.txt").write_text(STATUS)
    (root / "partitions.txt").write_text(_partitions())
    return forensics.analyze(root)


def test_a_bundle_of_status_output_only_says_why_it_has_no_timeline(status_only: Report) -> None:
    assert status_only.verdicts[0].status == "failure"
    assert figures.timeline_figure(status_only) is None
    page = html.render(status_only)
    timeline = _text(page.split('<section id="timeline">', 1)[1].split("</section>", 1)[0])
    assert "No log line with a time in the bundle (status output only): no timeline." in timeline
    assert 'id="fig-timeline"' not in page and "One lane per node" not in page


def test_evidence_from_a_status_output_names_no_node(status_only: Report) -> None:
    """Every output of the status-only bundle: no Python None, nan or null in the text."""
    md = markdown.render(status_only)
    bad = re.compile(r"\b(None|nan|NaN|null)\b")
    for text in (md, _text(html.render(status_only)), _terminal(status_only)):
        assert not bad.search(text), bad.search(text)
    assert re.search(r"rebalance_status\.txt:\d+ PROMOTE PARTITION", md) and "[None]" not in md
    assert "- Data at risk: **yes — 1 partition without a master (ledger:5)**" in md


# --------------------------------------------------------------------------- 4 cancelled


def test_a_cancelled_rebalance_is_not_shown_as_a_green_no_failure() -> None:
    report = synthetic_report(200)
    cancelled = Rebalance(
        database="metrics",
        outcome="cancelled",
        basis="status",
        steps=report.rebalances[0].steps.clear(),
        failed_step=None,
        failed_phase=None,
        failure_time=None,
        failure_line=None,
        start=None,
        end=None,
        master_aggregator=MA,
        involved_nodes=[],
        notes=[],
    )
    report.rebalances = [*report.rebalances, cancelled]
    report.verdicts = [
        *report.verdicts,
        Verdict("metrics", "no_failure", None, None, None, "Rebalance of metrics was cancelled."),
    ]
    page = html.render(report)
    assert re.search(r'<span>metrics</span> <span class="badge amber">cancelled</span>', page)
    assert "| metrics | cancelled |" in markdown.render(report)
    assert re.search(r"│ metrics\s+│ cancelled", _terminal(report))


# --------------------------------------------------------------------------- 6 ordinals


def test_impact_columns_read_as_ordinals() -> None:
    report = synthetic_report(200)
    report.impact = _impact(_db(partitions_without_master=[5], over_redundant=[1, 6]))  # type: ignore[assignment]
    assert "<th>ordinals without master</th>" in html.render(report)
    md = markdown.render(report)
    assert (
        "| ordinals without master | ordinals under redundancy | ordinals over redundancy |" in md
    )
    assert "| sales | 2 | 8 | 5 | — | 1, 6 |" in md
    assert "ordinals without master 5; under redundancy -; over redundancy 1, 6" in _terminal(
        report
    )


# --------------------------------------------------------------------------- 7 time zones


def test_times_are_shown_in_the_zone_the_report_was_analysed_in() -> None:
    """--tz America/New_York: the JSON says 08:14:30-04:00, so must the HTML and Markdown."""
    base = synthetic_report(200)
    failure = base.verdicts[0].time
    assert failure is not None and failure.utcoffset() is not None
    recovery = [{**s, "detail": f"failed at {failure.isoformat()}"} for s in base.recovery]
    report = dataclasses.replace(
        base,
        bundle=dataclasses.replace(base.bundle, timezone="America/New_York"),
        recovery=recovery,
    )
    page = html.render(report)
    assert "<dt>failure time</dt><dd>2024-05-06 08:14:30.000 -04:00</dd>" in page
    assert "shown in America/New_York" in page and "time (UTC)" not in page
    fig = figures.timeline_figure(report)
    assert fig is not None
    assert fig.layout.xaxis2.title.text == "time (America/New_York, UTC-04:00)"
    assert any("08:14:30.000 -04:00" in h for t in fig.data for h in t.hovertext or [])
    assert "failed at 2024-05-06 08:14:30.000 -04:00" in page
    assert "failed at 2024-05-06 08:14:30.000 -04:00" in markdown.render(report)
    in_utc = dataclasses.replace(base, recovery=recovery)
    assert "<dt>failure time</dt><dd>2024-05-06 12:14:30.000 UTC</dd>" in html.render(in_utc)
    md = markdown.render(in_utc)
    assert "failed at 2024-05-06 12:14:30.000 UTC" in md and failure.isoformat() not in md


# --------------------------------------------------------------------------- 8 small


def test_timeline_lanes_have_room_above_and_below() -> None:
    fig = figures.timeline_figure(synthetic_report(200))
    assert fig is not None
    lanes = len(fig.layout.yaxis.categoryarray)
    assert list(fig.layout.yaxis.range) == [lanes - 0.5, -0.5]


def test_the_redaction_note_says_the_folders_inside_the_input_are_shown() -> None:
    from forensics.redact import redact_report

    redacted = redact_report(synthetic_report(200))
    note = "its own name and the folders it is in are hidden; the folders inside it are shown"
    assert note in markdown.render(redacted)
    assert note in _text(html.render(redacted))
    assert "its own name and folders are not shown" not in _text(html.render(redacted))


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "failed at 2026-02-27T18:00:08.310000+00:00 in",
            "failed at 2026-02-27 18:00:08.310 UTC in",
        ),
        (
            "logged from 2026-04-14T06:00:11+00:00: either",
            "logged from 2026-04-14 06:00:11.000 UTC: either",
        ),
        ("(line 98, 2026-04-14T06:35:57.126Z)", "(line 98, 2026-04-14 06:35:57.126 UTC)"),
        ("no zone 2026-04-14T06:35:57 stays", "no zone 2026-04-14T06:35:57 stays"),
    ],
)
def test_the_tools_own_iso_times_read_as_dates(text: str, shown: str) -> None:
    assert wording.readable_times(text) == shown
