"""``--redact`` (SPEC §9): hosts, IPs and database names become consistent pseudonyms in
JSON, Markdown and HTML (evidence lines too), and the verdict does not change.

The original names are collected from the *unredacted* bundle frames (nodes, partitions,
steps, files, leaves), not from the redactor's own list, so a name the redactor forgot
is caught. In the HTML only the report's own text is searched: the embedded plotly.js
bundle is left out (it is library code, not report content).
"""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from forensics import grammars
from forensics.analysis import Report, analyze
from forensics.redact import Redactor, line_databases, redact_report
from forensics.report import html as html_report
from forensics.report import json as json_report
from forensics.report import markdown

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
# Several bundle forms: sdb-report tar.gz with `node-<host>-<ROLE>` folders, a zip of
# tab-separated outputs named by IP, a plain folder of host names whose database is
# called "events" (a word the report itself uses), and DDL evidence naming `db.table`.
CASES = [
    "promote_lsn_timeout",
    "copy_network_error",
    "drop_storage_error",
    "copy_lock_timeout_optimize",
]
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)")
SYSTEM_DATABASES = {"cluster", "information_schema", "memsql", "sharding", "mysql"}
# Report wording that a database may happen to be named after (the word, not the name).
TEMPLATE_PHRASES = ["log lines kept as events", "pointer-events"]


@cache
def _reports(name: str) -> tuple[Report, Report]:
    report = analyze(FIXTURES / name)
    return report, redact_report(report)


@cache
def _rendered(name: str) -> dict[str, str]:
    _, redacted = _reports(name)
    return {
        "json": json_report.render(redacted),
        "md": markdown.render(redacted),
        "html": _report_text(html_report.render(redacted)),
    }


class _TextOf(HTMLParser):
    """Text, attribute values and script data of a page, except the plotly.js bundle."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.extend(v for _, v in attrs if v)

    def handle_data(self, data: str) -> None:
        if len(data) > 500_000 or "plotly.js v" in data[:2000]:
            return  # the embedded library
        self.parts.append(data)


def _report_text(page: str) -> str:
    parser = _TextOf()
    parser.feed(page)
    return "\n".join(parser.parts)


def _hosts(node: str | None) -> set[str]:
    if not node or "/" in node:
        return set()
    return {node.rsplit(":", 1)[0] if ":" in node else node}


def original_names(report: Report) -> set[str]:
    """Hosts, IPs and user database names of the unredacted bundle."""
    b = report.bundle
    names: set[str] = set()
    for frame, col in (
        (b.nodes, "node"),
        (b.partitions, "node"),
        (b.steps, "target"),
        (b.files, "node"),
        (b.leaves, "node"),
    ):
        for value in frame.get_column(col).drop_nulls().unique().to_list():
            names |= _hosts(value)
    for frame in (b.partitions, b.steps):
        names.update(frame.get_column("database").drop_nulls().unique().to_list())
    evidence = " ".join(e["text"] or "" for f in report.findings for e in f.evidence)
    names.update(IPV4.findall(evidence))
    return names - SYSTEM_DATABASES


def _rule_texts(report: Report) -> list[str]:
    """A rule's own text (title, explanation, remediation, references) is the tool's, not
    the customer's: redaction leaves it (a database may be called "audit", a word the
    remediation of a rule uses)."""
    texts = {t for f in report.findings for t in (f.title, f.explanation, f.remediation)}
    texts |= {r for f in report.findings for r in f.references}
    return sorted((t for t in texts if t), key=len, reverse=True)


def _without_rule_text(report: Report, text: str) -> str:
    for rule_text in _rule_texts(report):
        text = text.replace(rule_text, " ").replace(json.dumps(rule_text)[1:-1], " ")
    return text


def _occurrences(name: str, text: str) -> list[str]:
    for phrase in TEMPLATE_PHRASES:
        text = text.replace(phrase, " ")
    word = rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])"
    return [text[max(m.start() - 40, 0) : m.end() + 40] for m in re.finditer(word, text)]


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("fmt", ["json", "md", "html"])
def test_no_original_name_survives(name: str, fmt: str) -> None:
    report, _ = _reports(name)
    names = original_names(report)
    assert len(names) >= 3, names  # the fixture really names hosts and databases
    text = _without_rule_text(report, _rendered(name)[fmt])
    leaks = {n: _occurrences(n, text)[:2] for n in sorted(names) if _occurrences(n, text)}
    assert not leaks, f"{name} {fmt}: {leaks}"


@pytest.mark.parametrize("name", CASES)
def test_verdict_unchanged_modulo_pseudonyms(name: str) -> None:
    report, _ = _reports(name)
    plain = json.loads(json_report.render(report))
    red = json.loads(_rendered(name)["json"])
    keys = ("status", "phase", "cause", "finding")
    assert [{k: v[k] for k in keys} for v in plain["verdicts"]] == [
        {k: v[k] for k in keys} for v in red["verdicts"]
    ]
    assert plain["exit_code"] == red["exit_code"]
    assert [f["rule"] for f in plain["findings"]] == [f["rule"] for f in red["findings"]]
    assert len(plain["input"]["files"]) == len(red["input"]["files"])
    # the database names map one-to-one onto pseudonyms
    dbs = {
        (p["database"], r["database"])
        for p, r in zip(plain["verdicts"], red["verdicts"], strict=True)
    }
    assert len({p for p, _ in dbs}) == len({r for _, r in dbs})


@pytest.mark.parametrize("name", CASES)
def test_pseudonyms_are_consistent_across_outputs(name: str) -> None:
    red = json.loads(_rendered(name)["json"])
    nodes = {n["node"] for n in red["nodes"]}
    assert nodes, "no nodes"
    for node in nodes:
        assert re.fullmatch(r"(ma|agg|leaf|host|ip)-\d+(:\d+)?", node), node
        host = node.rsplit(":", 1)[0]
        assert host in _rendered(name)["md"] or host in _rendered(name)["html"]
    for verdict in red["verdicts"]:
        if verdict["database"] is not None:
            assert re.fullmatch(r"db-\d+", verdict["database"])


def test_evidence_lines_are_redacted() -> None:
    report, redacted = _reports("copy_network_error")
    plain_lines = [e["text"] for f in report.findings for e in f.evidence]
    red_lines = [e["text"] for f in redacted.findings for e in f.evidence]
    assert len(plain_lines) == len(red_lines) > 0
    assert any(IPV4.search(t or "") for t in plain_lines)
    assert not any(IPV4.search(t or "") for t in red_lines)


def test_frames_are_redacted_too() -> None:
    report, redacted = _reports("promote_lsn_timeout")
    names = original_names(report)
    for frame in (redacted.bundle.files, redacted.bundle.nodes, redacted.bundle.steps):
        text = frame.select(pl.col(pl.String)).write_csv()
        assert not [n for n in names if _occurrences(n, text)]


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "node-sdb-leaf-1-LEAF/memsqlTracelogs/node-sdb-leaf-1_3306_memsql.log",
            "leaf-1-LEAF/memsqlTracelogs/leaf-1_3306_memsql.log",
        ),
        ("sdb-leaf-1-LEAF/x", "leaf-1-LEAF/x"),
        ("copy to 10.0.0.7:3306 from sdb-leaf-1", "copy to ip-1:3306 from leaf-1"),
        ("cluster-127.0.0.1.tgz", "cluster-ip-1.tgz"),
        (
            "rebalance of sales:7 failed, sales_7 dropped",
            "rebalance of db-1:7 failed, db-1_7 dropped",
        ),
        ("salesforce and resales are other words", "salesforce and resales are other words"),
        ("OPTIMIZE TABLE sales.orders; `sales`.`x`", "OPTIMIZE TABLE db-1.orders; `db-1`.`x`"),
        ("version 10.0.0.7.1 and 10.0.0.70", "version 10.0.0.7.1 and ip-1"),
        ("sdb-leaf-10 is not sdb-leaf-1", "sdb-leaf-10 is not leaf-1"),
        ("sdb-leaf-1-3306/memsql.log, sales-report", "leaf-1-3306/memsql.log, sales-report"),
        # any case; a host with its domain; IPv6 (times keep their colons)
        ("SDB-LEAF-1 and Sales", "leaf-1 and db-1"),
        ("sdb-leaf-1.corp.example.com:3306 down", "leaf-1:3306 down"),
        ("sales.orders on sdb-leaf-1.", "db-1.orders on leaf-1."),
        ("sdb-leaf-1.log", "leaf-1.log"),
        ("peer fe80::1ff:fe23:4567:890a at 10:00:20.5", "peer ip6-1 at 10:00:20.5"),
        ("2001:db8:0:0:0:0:2:1 and std::string", "ip6-1 and std::string"),
    ],
)
def test_redactor_boundaries(text: str, expected: str) -> None:
    hosts = {"sdb-leaf-1": "leaf-1", "node-sdb-leaf-1": "leaf-1"}
    redactor = Redactor(hosts, {"sales": "db-1"}, wording="")
    assert redactor.text(text) == expected


WORDING = "read the master aggregator's log. verify data safety. show rebalance status on {db};"


@pytest.mark.parametrize(
    "text,expected",
    [
        # the tool's own words around a name that is also a word stay
        ("read the master aggregator's log", "read the master aggregator's log"),
        ("Verify data safety", "Verify data safety"),
        ("SHOW REBALANCE STATUS ON status;", "SHOW REBALANCE STATUS ON db-2;"),
        # where the text shows a name, it is one
        ("COPY PARTITION master:3 on x", "COPY PARTITION db-1:3 on x"),
        ("`data`.`t` and data_4 and 'status'", "`db-3`.`t` and db-3_4 and 'db-2'"),
        ("BACKUP DATABASE master TO S3", "BACKUP DATABASE db-1 TO S3"),
        ("The snapshot of master is old", "The snapshot of db-1 is old"),
        # ``_`` joins words; database names are case-sensitive
        ("cluster_status and master_aggregator", "cluster_status and master_aggregator"),
        ("COPY phase failed, STATUS unknown", "COPY phase failed, STATUS unknown"),
    ],
)
def test_a_database_named_like_a_word(text: str, expected: str) -> None:
    redactor = Redactor({}, {"master": "db-1", "status": "db-2", "data": "db-3"}, WORDING)
    assert redactor.text(text) == expected


def test_host_names_that_are_no_node_are_redacted_too() -> None:
    r = Redactor({"10.0.0.1": "leaf-1"}, {"sales": "db-1"})
    text = "'dbops'@'jumpbox-3.corp.example' lost db-leaf-10.corp.example:3306 (memsql.log)"
    out = r.text(text)
    assert "jumpbox" not in out and "db-leaf-10" not in out and "corp.example" not in out
    assert out.endswith(":3306 (memsql.log)")
    pseudonym = out.split("'")[3]
    assert r.text("again jumpbox-3.corp.example") == "again " + pseudonym


def test_a_skipped_file_preview_leaks_no_half_host_name(tmp_path: Path) -> None:
    """The first line of an unrecognised file is shown cut between words, so that
    redaction sees whole host names."""
    bundle = tmp_path / "b"
    shutil.copytree(FIXTURES / "copy_out_of_memory", bundle)
    hosts = ", ".join(f'"db-leaf-{i:02d}.corp.example"' for i in range(7, 12))
    (bundle / "index.json").write_text('{"inventory": {"hosts": [' + hosts + "]}}\n")
    text = json_report.render(redact_report(analyze(bundle)))
    assert "index.json" in text
    assert "corp" not in text and "db-leaf" not in text


def _renamed(tmp_path: Path, fixture: str, old: str, new: str) -> Path:
    """A copy of a fixture whose database ``old`` is called ``new`` in every file."""
    bundle = tmp_path / "b"
    shutil.copytree(FIXTURES / fixture, bundle)
    for path in bundle.rglob("*"):
        if path.is_file() and path.suffix in {".log", ".txt", ".json", ".tsv", ".csv"}:
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            path.write_text(re.sub(rf"\b{old}\b", new, text), errors="surrogateescape")
    return bundle


def _closed_values(doc: object, path: str = "") -> list[tuple[str, object]]:
    """Every key path and the closed-vocabulary values (roles, statuses, phases ...)."""
    closed = {"role", "status", "phase", "failed_phase", "cause", "kind", "outcome", "title"}
    if isinstance(doc, dict):
        by_node = path.endswith(("per_node_extra_bytes", "node_timezones"))
        out: list[tuple[str, object]] = [] if by_node else [(path, sorted(doc))]
        for key, value in doc.items():
            out += [(f"{path}.{key}", value)] if key in closed else []
            out += _closed_values(value, f"{path}.{key}")
        return out
    if isinstance(doc, list):
        # (a list in another order: rows are sorted by names, which redaction changes)
        return sorted((x for v in doc for x in _closed_values(v, f"{path}[]")), key=repr)
    return []


@pytest.mark.parametrize("db", ["master", "status", "data", "leaf", "copy", "drop"])
def test_a_database_named_like_a_word_of_the_report(tmp_path: Path, db: str) -> None:
    """A database called ``master`` or ``status``: roles, statuses, keys, titles and SQL
    keywords stay as they are, the database becomes ``db-N`` where it is named, and every
    output renders (the JSON still validates)."""
    report = analyze(_renamed(tmp_path, "copy_out_of_memory", "orders", db))
    redacted = redact_report(report)
    plain, red = json_report.to_dict(report), json_report.to_dict(redacted)
    json_report.validate(json.loads(json_report.render(redacted)))
    assert _closed_values(red) == _closed_values(plain)
    sql = "\n".join(s for step in red["recovery"] for s in step.get("sql") or [])
    assert "SHOW REBALANCE STATUS ON db-" in sql
    assert not re.search(rf"(?:ON |'|`){db}\b|\b{db}[:_]\d", sql)
    md, page = markdown.render(redacted), html_report.render(redacted)
    for text in (md, json_report.render(redacted), _report_text(page)):
        assert not re.search(rf"(?:\bON |'|`){db}\b|\b{db}[:_]\d|database {db}\b", text)
    assert "## Recovery runbook" in md or "Recovery" in md


LOG_ONLY_LINES = [
    "KILL QUERY 4711 issued by user 'dbops'@'jumpbox-3' from 10.9.8.7",
    'BACKUP DATABASE Finance_2024 TO S3 "b/f" CONFIG \'{"endpoint_url":"https://minio.acme.de:9000"}\'',
    "ERROR 1205 (HY000): Lock wait timeout exceeded; try restarting transaction on `hr_private`.`employees`",
    "ALTER TABLE `payroll_db`.`salaries` ADD INDEX (emp_id) running on leaf sdb-leaf-7.acme.co.uk",
    "Replication: connection to [2001:db8::14]:3306 failed: Connection reset by peer",
]


def test_names_only_log_lines_show_are_redacted(tmp_path: Path) -> None:
    """Database names the SQL of a log line shows, any dotted host name and the host of
    ``user@host`` are replaced too; a host that is no node is ``host-…``, not ``leaf-…``."""
    bundle = tmp_path / "b"
    shutil.copytree(FIXTURES / "copy_out_of_memory", bundle)
    log = bundle / "10.0.1.10_3306" / "tracelogs" / "memsql.log"
    first = log.read_text().splitlines()[-1]
    stamp = " ".join(first.split()[:3])
    extra = [f"{stamp}  ERROR: Thread 11500{i}: {text}" for i, text in enumerate(LOG_ONLY_LINES)]
    log.write_text(log.read_text() + "\n".join(extra) + "\n")
    report = analyze(bundle)
    redacted = redact_report(report)
    frame = redacted.bundle.events.select("message").write_csv()
    outputs = [frame, json_report.render(redacted), markdown.render(redacted)]
    for secret in ("hr_private", "Finance", "payroll_db", "minio", "acme", "jumpbox", "2001:db8"):
        assert not [t for t in outputs if secret in t], secret
    assert "'dbops'@'host-x" in frame
    assert re.search(r"connection to \[host-\d+\]:3306|connection to \[ip6-\d+\]:3306", frame)
    assert not re.search(r"leaf-\d+\]:3306 failed", frame)


def test_rule_text_and_documentation_links_are_left_alone() -> None:
    report, redacted = _reports("copy_network_error")
    for plain, red in zip(report.findings, redacted.findings, strict=True):
        assert (red.title, red.explanation, red.remediation) == (
            plain.title,
            plain.explanation,
            plain.remediation,
        )
        assert red.references == plain.references
    links = [r for f in redacted.findings for r in f.references]
    assert links and not [r for r in links if "host-x" in r]


@pytest.mark.parametrize(
    "sample", grammars.load("messages")["redact"]["samples"], ids=lambda s: s["message"][:40]
)
def test_log_database_samples(sample: dict[str, Any]) -> None:
    """grammars/messages.toml [redact]: the names each sample line shows, and no SQL word."""
    assert line_databases(sample["message"]) == set(sample["databases"])


# ------------------------------------------------------------ the CLI, every output


def _customer_bundle(tmp_path: Path) -> Path:
    """copy_out_of_memory as a customer sends it: the bundle folder named after the
    customer, a database and a host; the database called ``sales`` (a name the tool's own
    samples use) and named in file names; a second database ``billing`` whose rebalance
    failed and that no snapshot shows (``impact.unseen``); a partition log file path."""
    bundle = tmp_path / "acme_sales_10.0.1.10"
    shutil.copytree(FIXTURES / "copy_out_of_memory", bundle)
    (bundle / "expected.json").unlink()
    for path in bundle.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            text = re.sub(r"(?<![A-Za-z0-9])orders(?![A-Za-z0-9])", "sales", text)
            path.write_text(text, errors="surrogateescape")
    sql = bundle / "sql"
    (sql / "cluster_state.txt").rename(sql / "show_partitions_sales.txt")
    (sql / "rebalance_status.txt").rename(sql / "sales-rebalance_status.txt")
    log = bundle / "10.0.1.10_3306" / "tracelogs" / "memsql.log"
    lines = log.read_text().splitlines()
    fail = next(i for i, line in enumerate(lines) if "database `sales` failed" in line)
    stamp = " ".join(lines[fail].split()[:3])
    lines[fail + 1 : fail + 1] = [
        f"{stamp}  ERROR: Thread 115401: Rebalance of database `billing` failed; "
        "the remaining 3 steps were cancelled",
        f"{stamp}  ERROR: Thread 115334: Error writing file "
        "'/var/lib/memsql/data/logs/sales_7_log_v1_31' (errno: 28 \"No space left on device\")",
    ]
    log.write_text("\n".join(lines) + "\n")
    return bundle


@pytest.fixture(scope="module")
def customer_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The CLI run with --redact on :func:`_customer_bundle`: every output's raw text."""
    from click.testing import CliRunner

    from forensics.cli import main
    from forensics.redact import redactor_for

    tmp = tmp_path_factory.mktemp("customer")
    bundle = _customer_bundle(tmp)
    out = tmp / "out"
    out.mkdir()
    args = ["analyze", str(bundle), "--redact", "--json", str(out / "r.json")]
    args += ["--md", str(out / "r.md"), "--html", str(out / "r.html")]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    report = analyze(bundle)
    return {
        "report": report,
        "pseudonyms": redactor_for(report).names,
        "json": (out / "r.json").read_text(encoding="utf-8"),
        "md": (out / "r.md").read_text(encoding="utf-8"),
        "html": (out / "r.html").read_text(encoding="utf-8"),
        "stdout": result.output,
    }


def test_the_customer_bundle_names_what_redaction_must_hide(customer_run: dict[str, Any]) -> None:
    """(the test bundle really shows the unseen database and the names in file names)"""
    report = customer_run["report"]
    assert "billing" in report.impact.unseen
    paths = report.bundle.files.get_column("path").to_list()
    assert "acme_sales_10.0.1.10/sql/show_partitions_sales.txt" in paths
    assert {"sales", "billing"} <= set(customer_run["pseudonyms"])


@pytest.mark.parametrize("output", ["json", "md", "html", "stdout"])
def test_cli_redact_leaves_no_original_name(customer_run: dict[str, Any], output: str) -> None:
    """No database, host, IP or input name of the bundle in the raw text of any output
    (in the HTML the embedded plotly.js too): not in a key (``unseen``), not in the tool's
    own sentences ("snapshot of sales"), not in a file or folder name, not in a partition
    log file's path, not in the input's name."""
    report = customer_run["report"]
    text = customer_run[output]
    if output == "html":
        text += "\n" + html_lib.unescape(text)
    names = original_names(report) | {"sales", "billing", "acme", "10.0.1.10"}
    leaks = {n: _occurrences(n, text)[:2] for n in sorted(names) if _occurrences(n, text)}
    assert not leaks, leaks
    # and as a substring anywhere (in a longer token, any case)
    for name in ("sales", "billing", "acme", "10.0.1.1"):
        assert name not in text.lower(), name
    assert str(FIXTURES) not in text and "tmp" not in re.findall(r"/(tmp)/", text)


def test_cli_redact_pseudonyms_are_consistent(customer_run: dict[str, Any]) -> None:
    sales = customer_run["pseudonyms"]["sales"]
    billing = customer_run["pseudonyms"]["billing"]
    doc = json.loads(customer_run["json"])
    assert re.fullmatch(r"db-\d+", sales) and re.fullmatch(r"db-\d+", billing)
    assert {v["database"] for v in doc["verdicts"]} >= {sales}
    assert [u["database"] for u in doc["impact"]["unseen"]] == [billing]
    assert doc["input"]["paths"] == ["bundle"]
    files = {f["path"] for f in doc["input"]["files"]}
    assert {
        f"bundle/sql/show_partitions_{sales}.txt",
        f"bundle/sql/{sales}-rebalance_status.txt",
    } <= files
    snapshot = doc["impact"]["databases"][0]["snapshot"]["partitions"]
    assert snapshot.startswith(f"bundle/sql/show_partitions_{sales}.txt")
    risk = f"after the failure of {billing}"
    for output in ("md", "html", "stdout"):
        text = customer_run[output]
        assert sales in text and risk in " ".join(text.split()), output
        assert "Redacted" in text, output
    # (the ENOSPC line names partition sales:7 by its log file: an alternative of sales's
    # verdict, in the JSON's findings; the Markdown shows the causes only)
    assert f"/data/logs/{sales}_7_log_v1_31" in customer_run["json"]
    assert f"/data/logs/{sales}_7_log_v1_31" in html_lib.unescape(customer_run["html"])
    assert customer_run["md"].startswith("# Rebalance forensics report\n\nInput: bundle —")


@pytest.mark.parametrize(
    "text,expected",
    [
        # the tool's sentences around a database its own samples name (``sales``)
        ("The snapshot of sales lists masters", "The snapshot of db-1 lists masters"),
        ("db-2: an earlier rebalance of sales failed", "db-2: an earlier rebalance of db-1 failed"),
        ("Rebalancer: Rebalance of sales aborted", "Rebalancer: Rebalance of db-1 aborted"),
        # the tool's own vocabulary still reads as such
        ("read the master aggregator's log", "read the master aggregator's log"),
    ],
)
def test_a_sample_name_of_the_tool_is_never_its_wording(text: str, expected: str) -> None:
    redactor = Redactor({}, {"sales": "db-1", "master": "db-3"})
    assert redactor.text(text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("x1/sql/show_partitions_sales.txt#1", "x1/sql/show_partitions_db-1.txt#1"),
        ("x1/sql/sales-rebalance_status.txt:12", "x1/sql/db-1-rebalance_status.txt:12"),
        ("read partitions_sales.txt and sales/x", "read partitions_db-1.txt and db-1/x"),
        (
            "/var/lib/memsql/data/logs/sales_7_log_v1_31",
            "/var/lib/memsql/data/logs/db-1_7_log_v1_31",
        ),
        ("file sales_7_snapshot_v1_2 lost", "file db-1_7_snapshot_v1_2 lost"),
        # a database called like a file ending or a pseudonym's prefix
        ("leaf-1_3306/memsql.log and db-1/log/x.log", "leaf-1_3306/memsql.log and db-1/db-2/x.log"),
        ("db/db-1.txt", "db-3/db-1.txt"),
        # prose: ``_`` and ``-`` still join words there
        ("sales_report and sales-team", "sales_report and sales-team"),
    ],
)
def test_database_names_in_file_and_folder_names(text: str, expected: str) -> None:
    redactor = Redactor({}, {"sales": "db-1", "log": "db-2", "db": "db-3"}, wording="")
    assert redactor.text(text) == expected


def test_dicts_keyed_by_a_name_are_redacted_whatever_their_field() -> None:
    from forensics.redact import _walk

    r = Redactor({"sdb-leaf-1": "leaf-1"}, {"sales": "db-1", "partitions": "db-2"}, wording="")
    value = {
        "unseen": {"sales": "no snapshot after the failure of sales"},
        "zone_notes": {"sdb-leaf-1:3306": "its log says +05:30"},
        "new_field": {"sales": 1, "sdb-leaf-1:3306": 2, "10.0.0.9": 3},
        "snapshot": {"partitions": "sql/show_partitions_sales.txt#1"},
    }
    assert _walk(value, r) == {
        "unseen": {"db-1": "no snapshot after the failure of db-1"},
        "zone_notes": {"leaf-1:3306": "its log says +05:30"},
        "new_field": {"db-1": 1, "leaf-1:3306": 2, "ip-1": 3},
        # a key the tool writes stays, even with a database of that name (in a path
        # every database name that is a whole part of a file name goes)
        "snapshot": {"partitions": "sql/show_db-2_db-1.txt#1"},
    }


def test_the_input_is_shown_as_a_pseudonym() -> None:
    """The path given and the bundle folder's name its members' paths start with become
    ``bundle``; the folder's name as a word of prose is left."""
    inputs = {"/cases/acme-logs": "bundle", "acme-logs": "bundle"}
    r = Redactor({}, {"sales": "db-1"}, wording="", inputs=inputs)
    assert r.text("/cases/acme-logs/") == "bundle"
    assert r.text("acme-logs/sql/show_sales.txt:3") == "bundle/sql/show_db-1.txt:3"
    assert r.text("read /cases/acme-logs/x.log") == "read bundle/x.log"
    assert r.text("acme-logs") == "bundle"
    assert r.text("the acme-logs folder") == "the acme-logs folder"
