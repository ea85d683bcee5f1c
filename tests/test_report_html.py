"""The self-contained HTML report (SPEC §6.3): structure, escaping, determinism, size, browser.

Reports come from two places: a synthetic Report built here (so these tests do not wait
for parsers or fixtures) and, when they exist, ``analyze()`` over the fixture bundles.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from forensics import schemas
from forensics.analysis import Report
from forensics.diagnose import Finding, Verdict
from forensics.loader import NODES, Bundle
from forensics.report import figures, html
from forensics.timeline import Rebalance

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
ARTIFACTS = ROOT / "tests" / "artifacts"
XSS = "<script>alert(1)</script>"
T0 = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)
NODE_NAMES = ["10.0.0.1:3306", "10.0.0.2:3306", "10.0.0.3:3306", "10.0.0.4:3306"]
MA = NODE_NAMES[0]
SECTIONS = ["verdict", "timeline", "impact", "findings", "recovery", "inputs"]


# --------------------------------------------------------------------------- synthetic report


def _events(n: int) -> pl.DataFrame:
    """n tracelog events over 6 hours on 4 nodes, mostly noise; the XSS line is in it."""
    index = pl.int_range(0, n, eager=True)
    levels = ["INFO", "WARN", "ERROR", "INFO", "WARN"]
    frame = pl.DataFrame({"i": index}).select(
        pl.col("i")
        .mod(len(NODE_NAMES))
        .replace_strict(dict(enumerate(NODE_NAMES)), return_dtype=pl.String)
        .alias("node"),
        (
            pl.lit("node")
            + pl.col("i").mod(len(NODE_NAMES)).cast(pl.String)
            + pl.lit("/memsql.log")
        ).alias("file"),
        (pl.col("i") // len(NODE_NAMES) + 1).alias("line"),
        (
            pl.lit(T0) + pl.duration(microseconds=pl.col("i") * (6 * 3600 * 10**6 // max(n, 1)))
        ).alias("ts"),
        pl.col("i")
        .mod(len(levels))
        .replace_strict(dict(enumerate(levels)), return_dtype=pl.String)
        .alias("level"),
        (pl.lit("noise line ") + pl.col("i").cast(pl.String)).alias("message"),
    )
    return schemas.conform(frame, schemas.EVENTS)


def _line_counts(events: pl.DataFrame) -> pl.DataFrame:
    counts = (
        events.group_by("node", "file", pl.col("ts").dt.truncate("1m").alias("minute"), "level")
        .agg(pl.len().cast(pl.Int64).alias("lines"))
        .sort("minute", "node", "level")
    )
    return schemas.conform(counts, schemas.LINE_COUNTS)


def _steps() -> pl.DataFrame:
    rows = []
    for ordinal in range(8):
        target = NODE_NAMES[2 + ordinal % 2]
        start = T0 + timedelta(hours=2, minutes=ordinal)
        rows.append(
            {
                "database": "sales",
                "action": "COPY PARTITION",
                "phase_kind": "copy",
                "ordinal": ordinal,
                "target": target,
                "phase": 1,
                "status": "success",
                "started_at": start,
                "ended_at": start + timedelta(seconds=40),
                "source": "rebalance_status.txt",
                "origin": "status",
            }
        )
        status = {5: "failed", 6: "unknown", 7: "scheduled"}.get(ordinal, "success")
        timed = ordinal <= 5
        rows.append(
            {
                "database": "sales",
                "action": "PROMOTE PARTITION WITH DROP",
                "phase_kind": "promote",
                "ordinal": ordinal,
                "target": target,
                "phase": 2,
                "status": status,
                "started_at": start + timedelta(minutes=9) if timed else None,
                "ended_at": start + timedelta(minutes=9, seconds=30) if timed else None,
                "source": "rebalance_status.txt",
                "origin": "status",
            }
        )
    return schemas.conform(pl.DataFrame(rows), schemas.STEPS)


def _partitions() -> pl.DataFrame:
    rows = []
    for snapshot in ("before/partitions.txt#0", "after/partitions.txt#0"):
        for ordinal in range(8):
            master, replica = NODE_NAMES[1 + ordinal % 2], NODE_NAMES[1 + (ordinal + 1) % 2]
            rows.append(
                {"ordinal": ordinal, "node": master, "role": "master", "snapshot": snapshot}
            )
            rows.append(
                {"ordinal": ordinal, "node": replica, "role": "Slave", "snapshot": snapshot}
            )
            if snapshot.startswith("after") and ordinal in (5, 6):
                rows.append(
                    {
                        "ordinal": ordinal,
                        "node": NODE_NAMES[3],
                        "role": "replica",
                        "snapshot": snapshot,
                    }
                )
    frame = pl.DataFrame(rows).with_columns(
        pl.lit("sales").alias("database"),
        pl.lit("partitions").alias("snapshot_kind"),
        pl.lit(1 << 30).alias("size_bytes"),
    )
    return schemas.conform(frame, schemas.PARTITIONS)


def _files() -> pl.DataFrame:
    rows: list[dict[str, Any]] = [
        {
            "path": f"node{i}/memsql.log",
            "kind": "memsql_log",
            "node": node,
            "bytes": 10**7,
            "lines": 25_000,
            "unparsed_lines": 3,
            "skipped_reason": None,
        }
        for i, node in enumerate(NODE_NAMES)
    ]
    rows.append(
        {
            "path": f"junk/{XSS}.bin",
            "kind": "unknown",
            "node": None,
            "bytes": 10,
            "lines": None,
            "unparsed_lines": None,
            "skipped_reason": f"binary content {XSS}",
        }
    )
    return schemas.conform(pl.DataFrame(rows), schemas.FILES)


def _nodes() -> pl.DataFrame:
    roles = ["master_aggregator", "leaf", "leaf", "leaf"]
    frame = pl.DataFrame(
        {
            "node": NODE_NAMES,
            "role": roles,
            "first_ts": [T0] * 4,
            "last_ts": [T0 + timedelta(hours=6)] * 4,
            "restarts": [0] * 4,
            "files": [1] * 4,
        }
    )
    return schemas.conform(frame, NODES)


def _bundle(n_events: int) -> Bundle:
    events = _events(n_events)
    return Bundle(
        paths=["synthetic-bundle"],
        timezone="UTC",
        events=events,
        line_counts=_line_counts(events),
        steps=_steps(),
        partitions=_partitions(),
        files=_files(),
        leaves=schemas.empty(schemas.LEAVES),
        variables=schemas.empty(schemas.VARIABLES),
        disk_usage=schemas.empty(schemas.DISK_USAGE),
        nodes=_nodes(),
        warnings=[f"node9/memsql.log:7: odd line {XSS}"],
    )


def _evidence(node: str, minutes: float, text: str, line: int) -> dict[str, Any]:
    return {
        "file": "node2/memsql.log",
        "line": line,
        "node": node,
        "time": T0 + timedelta(hours=2, minutes=minutes),
        "text": text,
    }


def _finding(
    fid: str,
    role: str,
    cause: str | None,
    factor: str | None,
    conf: float,
    evidence: list[dict[str, Any]],
    **extra: Any,
) -> Finding:
    return Finding(
        id=fid,
        rule=f"R{fid}",
        role=role,
        cause=cause,
        factor=factor,
        phase="promote",
        database="sales",
        ordinal=5,
        node=evidence[0]["node"],
        time=evidence[0]["time"],
        severity="high",
        confidence=conf,
        title=f"title of {fid}",
        explanation="why it matters",
        remediation="what to do",
        references=["https://docs.singlestore.com/"],
        evidence=evidence,
        lines=len(evidence),
        **extra,
    )


def _findings() -> list[Finding]:
    ev = NODE_NAMES[3]
    return [
        _finding(
            "F1",
            "cause",
            "lsn_wait_timeout",
            None,
            0.92,
            [
                _evidence(ev, 14.4, f"WaitForLSNWithTimeout timed out {XSS} & more", 101),
                _evidence(ev, 14.2, "WaitForLSNWithTimeout slow", 99),
            ],
            alternatives=[
                {"finding": "F3", "why_not": f"out_of_memory (0.20 < 0.92): 3h before {XSS}"}
            ],
        ),
        _finding(
            "F2",
            "contributing",
            None,
            "concurrent_ddl",
            0.6,
            [_evidence(MA, 10.0, "OPTIMIZE TABLE sales.orders", 55)],
        ),
        _finding(
            "F3",
            "alternative",
            "out_of_memory",
            None,
            0.2,
            [_evidence(NODE_NAMES[1], -120, "Not enough memory available", 7)],
            reasons=["2h00m before the step's window"],
        ),
        _finding(
            "F4",
            "unrelated",
            "kill",
            None,
            0.01,
            [_evidence(NODE_NAMES[2], 200, "KILL QUERY 12", 9)],
        ),
    ]


def _rebalance(steps: pl.DataFrame) -> Rebalance:
    failed = steps.filter(pl.col("status") == "failed").row(0, named=True)
    line = {
        "node": MA,
        "file": "node0/memsql.log",
        "line": 4242,
        "ts": failed["ended_at"],
        "message": f"PROMOTE PARTITION sales:5 failed {XSS}",
    }
    return Rebalance(
        database="sales",
        outcome="failed",
        basis="status",
        steps=steps,
        failed_step=failed,
        failed_phase="promote",
        failure_time=failed["ended_at"],
        failure_line=line,
        start=T0 + timedelta(hours=2),
        end=failed["ended_at"],
        master_aggregator=MA,
        involved_nodes=[MA, NODE_NAMES[3]],
        notes=[f"a note {XSS}"],
    )


@dataclass
class StubImpact:
    """The documented ``Impact.to_json()`` shape, without depending on forensics.impact."""

    data: dict[str, Any] | None
    per_node_extra_bytes: dict[str, int | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any] | None:
        return self.data


def _impact() -> StubImpact:
    diff = {
        "kind": "partitions",
        "before": "before/partitions.txt#0",
        "after": "after/partitions.txt#0",
        "added": [
            {"ordinal": 5, "node": NODE_NAMES[3], "role": "replica"},
            {"ordinal": 6, "node": NODE_NAMES[3], "role": "replica"},
        ],
        "dropped": [],
        "moved": [],
        "role_changes": [],
    }
    db = {
        "database": "sales",
        "redundancy": 2,
        "redundancy_assumed": True,
        "partitions": 8,
        "partitions_without_master": [],
        "under_redundant": [],
        "over_redundant": [5, 6],
        "orphans": [],
        "extra_copies": 2,
        "extra_bytes_estimate": 2 << 30,
        "phase": "promote",
        "phase_statements": [f"statement with {XSS}"],
        "snapshot_diff": diff,
        "per_node_extra_bytes": {NODE_NAMES[3]: 2 << 30},
    }
    return StubImpact({"data_at_risk": False, "extra_bytes_estimate": 2 << 30, "databases": [db]})


def _recovery() -> list[dict[str, Any]]:
    steps = []
    for n in range(1, 6):
        blocked = f"partition sales:5 may hold the only copy {XSS}" if n == 5 else None
        steps.append(
            {
                "step": n,
                "title": f"Step title {n}",
                "detail": f"First line.\n- bullet {XSS}\n- two",
                "sql": [f"SHOW REBALANCE STATUS ON sales; -- {n}", "SELECT '<b>';"],
                "blocked_by": blocked,
            }
        )
    return steps


def synthetic_report(n_events: int = 2000) -> Report:
    bundle = _bundle(n_events)
    rb = _rebalance(bundle.steps)
    verdict = Verdict(
        "sales",
        "failure",
        "promote",
        "lsn_wait_timeout",
        "F1",
        f"PROMOTE phase failed at sales:5 {XSS}",
        0.92,
        rb.failure_time,
        f"error {XSS}",
    )
    matches = pl.DataFrame({"rule": ["RF1"] * 3})
    return Report(
        bundle,
        [rb],
        _findings(),
        [verdict],
        _impact(),
        _recovery(),  # type: ignore[arg-type]
        matches,
        warnings=[f"warning {XSS}"],
        assumptions=["tracelog timestamps read as UTC"],
    )


@pytest.fixture(scope="module")
def report() -> Report:
    return synthetic_report()


@pytest.fixture(scope="module")
def page(report: Report) -> str:
    return html.render(report)


def fixture_dirs() -> list[Path]:
    if not FIXTURES.is_dir():
        return []
    return sorted(p for p in FIXTURES.iterdir() if p.is_dir() and (p / "expected.json").exists())


# --------------------------------------------------------------------------- structure


def assert_self_contained(text: str) -> None:
    assert not re.search(r"<script[^>]*\ssrc\s*=", text, re.I), "external script"
    assert not re.search(r"<link[^>]*\shref\s*=", text, re.I), "external stylesheet/link"
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*//""", text, re.I), (
        "protocol-relative reference"
    )
    assert not re.search(r"""@import|url\(\s*["']?https?:""", text, re.I), (
        "CSS loads from the network"
    )
    assert "Plotly.newPlot" in text
    assert len(re.findall(r"<html", text)) == 1


def assert_sections_in_order(text: str) -> None:
    positions = [text.find(f'<section id="{name}">') for name in SECTIONS]
    assert all(p >= 0 for p in positions), dict(zip(SECTIONS, positions, strict=True))
    assert positions == sorted(positions)


def test_single_self_contained_file(page: str) -> None:
    assert_self_contained(page)
    assert page.startswith("<!DOCTYPE html>")
    assert "plotly.js v" in page  # the library itself is inline


def test_sections_in_order(page: str) -> None:
    assert_sections_in_order(page)


def test_log_text_is_escaped_everywhere(page: str) -> None:
    body = page.split("<body>", 1)[1]
    assert XSS not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body  # tables, banner, warnings
    # figure JSON: hover text escaped for plotly, and '<' never literal inside the JSON block
    blocks = re.findall(
        r'<script type="application/json" data-plot="[^"]+">(.*?)</script>', page, re.S
    )
    assert blocks
    assert all("<" not in b for b in blocks)
    assert any("\\u0026lt;script\\u0026gt;alert(1)" in b for b in blocks)


def test_deterministic(report: Report) -> None:
    assert html.render(report) == html.render(report)


def test_runbook_copyable_and_blocked(page: str) -> None:
    assert page.count('class="copy"') == 5
    assert '<code id="sql-5" class="language-sql">' in page
    assert "SELECT &#39;&lt;b&gt;&#39;;" in page
    assert "BLOCKED — do not run yet: partition sales:5 may hold the only copy" in page
    assert "navigator.clipboard" in page


def test_findings_evidence_and_alternatives(page: str) -> None:
    findings = page.split('<section id="findings">', 1)[1].split("</section>", 1)[0]
    assert 'id="finding-F1"' in findings and "node2/memsql.log:101" in findings
    assert "Alternatives ruled out" in findings and "out_of_memory (0.20 &lt; 0.92)" in findings
    assert (
        findings.index("finding-F1") < findings.index("finding-F2") < findings.index("finding-F4")
    )


def test_impact_views(report: Report, page: str) -> None:
    assert 'id="fig-partitions-1"' in page and 'id="fig-extra-storage"' in page
    assert "Before / after" in page
    fig = figures.partition_map_figure(report, "sales")
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 2  # before | after
    after = heatmaps[1]
    assert sum(1 for row in after.text for cell in row if cell) == 18  # 8 x 2 copies + 2 extras
    storage = figures.extra_storage_figure(report)
    assert storage is not None and storage.data[0].x == (2.0,)  # GiB


def test_timeline_figure_contents(report: Report) -> None:
    fig = figures.timeline_figure(report)
    names = [t.name for t in fig.data]
    assert "step failed" in names and "step unknown (time unknown)" in names
    assert not any(n.startswith("step scheduled") for n in names)  # never ran: table only
    assert "lsn_wait_timeout" in names and "concurrent_ddl" in names and "failure" in names
    evidence = next(t for t in fig.data if t.name == "lsn_wait_timeout")
    assert len(evidence.x) == 2 and all("&lt;script&gt;" in h for h in evidence.hovertext[:1])
    assert fig.layout.shapes and fig.layout.shapes[0].line.dash == "dash"
    lanes = list(fig.layout.yaxis.categoryarray)
    assert lanes[0] == MA and set(NODE_NAMES) <= set(lanes)


def test_no_snapshot_and_no_rebalance() -> None:
    report = synthetic_report(200)
    report.impact = StubImpact(None)  # type: ignore[assignment]
    report.rebalances, report.findings, report.recovery = [], [], []
    report.verdicts = [Verdict(None, "no_failure", None, None, None, "No rebalance was found.")]
    text = html.render(report)
    assert_sections_in_order(text)
    assert "Impact not computed" in text and "No rebalance found in the bundle." in text


def test_real_impact_renders(report: Report) -> None:
    from forensics.impact import compute_impact

    bundle = report.bundle
    impact = compute_impact(
        bundle.partitions, bundle.variables, bundle.disk_usage, failing_phases={"sales": "promote"}
    )
    real = Report(
        bundle,
        report.rebalances,
        report.findings,
        report.verdicts,
        impact,
        report.recovery,
        report.matches,
        report.warnings,
        report.assumptions,
    )
    text = html.render(real)
    assert_sections_in_order(text)
    assert 'id="fig-partitions-1"' in text


# --------------------------------------------------------------------------- scale


def test_100k_events_render_fast_and_small(capsys: pytest.CaptureFixture[str]) -> None:
    big = synthetic_report(100_000)
    start = time.perf_counter()
    text = html.render(big)
    seconds = time.perf_counter() - start
    size = len(text.encode())
    plotly_size = len(html.plotly_js().encode())
    with capsys.disabled():
        print(
            f"\n100k events: HTML {size / 1e6:.2f} MB ({(size - plotly_size) / 1e3:.0f} kB without "
            f"plotly.js), render {seconds:.2f} s"
        )
    assert seconds < 10
    assert size - plotly_size < 2_000_000
    points = sum(len(t.x or []) for t in figures.timeline_figure(big).data)
    assert points < 5000


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("bundle_dir", fixture_dirs(), ids=lambda p: p.name)
def test_fixture_report(bundle_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from forensics.analysis import analyze

    report = analyze(bundle_dir)
    start = time.perf_counter()
    text = html.render(report)
    seconds = time.perf_counter() - start
    with capsys.disabled():
        print(
            f"\n{bundle_dir.name}: HTML {len(text.encode()) / 1e6:.2f} MB, render {seconds:.2f} s"
        )
    assert_self_contained(text)
    assert_sections_in_order(text)
    assert text == html.render(report)


def test_fixtures_present() -> None:
    if not fixture_dirs():
        pytest.skip(f"no fixture bundles with expected.json under {FIXTURES} yet")


# --------------------------------------------------------------------------- browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--virtual-time-budget=10000",
]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("chromium not installed (CI installs it in .ci/run: apt-get install chromium)")


def _browser_report() -> tuple[str, Report]:
    dirs = fixture_dirs()
    if dirs:
        from forensics.analysis import analyze

        return dirs[0].name, analyze(dirs[0])
    return "synthetic", synthetic_report()


@pytest.mark.browser
def test_renders_in_headless_chromium(tmp_path: Path) -> None:
    binary = _chromium()
    name, report = _browser_report()
    page = tmp_path / "report.html"
    page.write_text(html.render(report), encoding="utf-8")
    base = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*base, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert '<svg class="main-svg"' in dom.stdout, f"plotly did not render ({name})"
    errors = re.search(r'<pre id="js-errors" hidden="">(.*?)</pre>', dom.stdout, re.S)
    assert errors is not None, "error sink missing from the DOM"
    assert errors.group(1).strip() == "", errors.group(1)
    assert dom.stdout.count('class="main-svg"') >= 3
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1400,3000", page.as_uri()],
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert shot.exists() and shot.stat().st_size > 10_000


def test_deterministic_across_processes() -> None:
    """Same report, different hash seeds, same bytes (no set-order or time leaks)."""
    code = (
        "import hashlib, sys; sys.path.insert(0, 'tests'); "
        "from test_report_html import synthetic_report; from forensics.report import html; "
        "print(hashlib.sha256(html.render(synthetic_report()).encode()).hexdigest())"
    )
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        digests.add(run.stdout.strip())
    assert len(digests) == 1


# --------------------------------------------------------------------------- Markdown, terminal

HOSTILE = '\x1b[2J\x1b]0;pwned\x07 \x9b31m <script>alert(1)</script> "><img src=x onerror=alert(2)>'


def _hostile_report(long_line: int = 0) -> Report:
    """The synthetic report with a log line full of HTML and escape sequences (and,
    with ``long_line``, a line of that many characters) in evidence and runbook."""
    import dataclasses

    base = synthetic_report(200)
    text = HOSTILE + " x" * (long_line // 2)
    findings = [
        dataclasses.replace(f, evidence=[{**e, "text": text} for e in f.evidence])
        for f in base.findings
    ]
    recovery = [{**s, "detail": f"Error: {text}"} for s in base.recovery]
    verdicts = [dataclasses.replace(v, summary=f"failed: {text}") for v in base.verdicts]
    return dataclasses.replace(base, findings=findings, recovery=recovery, verdicts=verdicts)


def _outside_code(markdown_text: str) -> str:
    """The Markdown without its fenced code blocks and inline code spans."""
    text = re.sub(r"(?ms)^\s*```.*?^\s*```", "", markdown_text)
    return re.sub(r"`[^`\n]*`", "", text)


def _terminal(report: Report) -> str:
    import io

    from rich.console import Console

    from forensics.report import terminal

    out = io.StringIO()
    terminal.show(report, Console(file=out, width=120, force_terminal=False))
    return out.getvalue()


def test_markdown_shows_log_html_as_text_outside_code() -> None:
    """A ticket system renders inline HTML in Markdown: log text outside a code block
    has its < > & as entities (inside one it stays as written)."""
    from forensics.report import markdown

    text = markdown.render(_hostile_report())
    prose = _outside_code(text)
    assert "<script" not in prose and "<img" not in prose
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in prose
    assert "&lt;img src=x onerror=alert(2)&gt;" in prose


@pytest.mark.parametrize("output", ["markdown", "terminal"])
def test_control_characters_in_log_text_are_shown_not_sent(output: str) -> None:
    """ESC[2J (clear screen), ESC]0;…BEL (window title) and C1 controls from a log line
    reach the Markdown and the terminal as visible \\xNN, never as the bytes."""
    from forensics.report import markdown

    report = _hostile_report()
    text = markdown.render(report) if output == "markdown" else _terminal(report)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)
    assert "\\x1b[2J" in text and "\\x07" in text


@pytest.mark.parametrize("output", ["markdown", "terminal"])
def test_a_huge_log_line_is_cut_and_says_so(output: str) -> None:
    """A 5 MB log line does not go whole into the ticket-sized Markdown or on screen."""
    from forensics.report import markdown

    report = _hostile_report(long_line=5_000_000)
    text = markdown.render(report) if output == "markdown" else _terminal(report)
    assert len(text) < 200_000
    assert re.search(r"\[[\d,]+ more characters cut\]", text.replace("\n", ""))
