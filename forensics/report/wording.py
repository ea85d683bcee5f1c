"""What the three human reports (HTML, Markdown, terminal) say the same way.

One place for the words a support engineer compares between the reports: the data-at-risk
reason (:func:`risk`), a verdict's status (:func:`status_label`), a blocked step's SQL
(:func:`blocked_sql`), an evidence line's place (:func:`evidence_place`), the redaction
note, and times (:func:`fmt_time`, :func:`fmt_stamp`, :func:`readable_times`), written in
the report's display zone (the ``--tz`` the report was analysed in, as the JSON's times
are; :func:`forensics.analysis.in_display_zone`). Nothing here imports plotly: the
terminal summary and the Markdown use it too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..analysis import iso
from ..redact import REDACTION_NOTE

if TYPE_CHECKING:
    from ..analysis import Report
    from ..diagnose import Verdict

# --------------------------------------------------------------------------- times

#: An ISO 8601 time with a zone in the tool's own text (runbook, summaries, warnings).
_ISO_TIME = re.compile(
    r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})(?!\d)"
)


def as_utc(value: datetime | str | None) -> datetime | None:
    """A UTC-aware datetime; naive values (and ISO strings) are taken as UTC already."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local_time(value: datetime | str | None) -> datetime | None:
    """``value`` in the display zone (aware), as the JSON report writes it."""
    utc = as_utc(value)
    return None if utc is None else datetime.fromisoformat(iso(utc) or "")


def fmt_time(value: datetime | str | None) -> str:
    """A time for tables and for plotly's date axis: display zone, millisecond precision,
    no zone (the column or axis names it)."""
    shown = local_time(value)
    if shown is None:
        return ""
    # (not strftime's %Y: it writes year 1 as "1", which no ISO reader takes back)
    return shown.replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")


def offset_label(value: datetime | str | None) -> str:
    """``UTC`` or the display zone's offset at ``value`` (``-04:00``)."""
    shown = local_time(value)
    if shown is None or not shown.utcoffset():
        return "UTC"
    text = shown.strftime("%z")  # -0400 (-033052 for a local mean time: minutes kept)
    return f"{text[:3]}:{text[3:5]}"


def fmt_stamp(value: datetime | str | None) -> str:
    """A time standing alone: ``2026-04-14 07:41:18.359 -04:00`` (``UTC`` for offset 0)."""
    text = fmt_time(value)
    return f"{text} {offset_label(value)}" if text else ""


def readable_times(text: str) -> str:
    """The tool's own text with its ISO times (``2026-02-27T18:00:08.310000+00:00``)
    written as :func:`fmt_stamp` does. Not for log lines: they are shown as logged."""
    return _ISO_TIME.sub(lambda m: fmt_stamp(m.group()) or m.group(), text)


def zone_name(report: Report) -> str:
    """The display zone's name for headings: ``UTC``, ``America/New_York``."""
    return str(getattr(report.bundle, "timezone", None) or "UTC")


# --------------------------------------------------------------------------- data at risk

#: What the reports say when data at risk is unknown (JSON ``data_at_risk`` null): a
#: failed or unfinished rebalance's database that no snapshot after the failure shows.
RISK_UNKNOWN = "unknown — no SHOW PARTITIONS after the failure"


def unknown_risk(data: dict[str, Any]) -> str:
    """:data:`RISK_UNKNOWN`, naming the databases no snapshot shows (``impact.unseen``)."""
    names = ", ".join(u["database"] for u in data.get("unseen") or [])
    return f"{RISK_UNKNOWN} of {names}" if names else RISK_UNKNOWN


@dataclass(frozen=True)
class Risk:
    """Data at risk for one database or all: ``word`` yes / no / unknown, ``text`` the
    word with the worst reason, ``tone`` red / amber / green."""

    word: str
    text: str
    tone: str

    @property
    def css(self) -> str:
        return "risk-reduced" if self.word == "no" and self.tone == "amber" else f"risk-{self.word}"


def _by_database(dbs: list[dict[str, Any]], key: str) -> str:
    """``ledger:3, 5, 7; sales:1`` for the ordinals listed under ``key``."""
    return "; ".join(
        f"{d['database']}:" + ", ".join(str(o) for o in d[key]) for d in dbs if d.get(key)
    )


def _ahead_orphans(dbs: list[dict[str, Any]]) -> list[str]:
    """Orphans further in the log than their master: data only they hold."""
    return [
        f"{d['database']}:{o['ordinal']} on {o['node']}"
        for d in dbs
        for o in d.get("orphans") or []
        if o.get("ahead_of_master")
        and o["ordinal"] not in (d.get("partitions_without_master") or [])
    ]


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def risk(data: dict[str, Any] | None, database: str | None = None) -> Risk:
    """The worst reason data is at risk in ``database`` (None: every database), in this
    order: partitions without a master, data only on an orphan (ahead of its master),
    unknown (no snapshot after the failure), redundancy reduced."""
    if not data:
        return Risk("unknown", "unknown — no partition snapshot in the bundle", "amber")
    unseen = {u["database"] for u in data.get("unseen") or []}
    if database is not None and database in unseen:
        return Risk("unknown", RISK_UNKNOWN, "amber")
    dbs = [d for d in data["databases"] if database is None or d["database"] == database]
    if database is not None and not dbs:  # another database's snapshot says nothing
        return Risk("unknown", f"unknown — no snapshot shows {database}", "amber")
    lost = sum(len(d["partitions_without_master"]) for d in dbs)
    if lost:
        where = _by_database(dbs, "partitions_without_master")
        reason = _plural(lost, "partition without a master", "partitions without a master")
        return Risk("yes", f"yes — {reason} ({where})", "red")
    ahead = _ahead_orphans(dbs)
    if ahead:
        return Risk("yes", f"yes — data only on an orphan ({', '.join(ahead)})", "red")
    if database is None and data.get("data_at_risk") is None:
        return Risk("unknown", unknown_risk(data), "amber")
    if any(d["under_redundant"] for d in dbs):
        where = _by_database(dbs, "under_redundant")
        return Risk("no", f"no — redundancy reduced ({where} under redundancy)", "amber")
    return Risk("no", "no", "green")


# --------------------------------------------------------------------------- verdicts


def rebalance_outcome(report: Report, verdict: Verdict) -> str | None:
    """The outcome of the run ``verdict`` judges: its database's latest run (the JSON's
    ``rebalances[].outcome``); None for an earlier run's verdict or none found."""
    if verdict.later_run is not None:
        return None
    runs = [
        rb
        for rb in report.rebalances
        if rb.database == verdict.database and getattr(rb, "next_run", None) is None
    ]
    return runs[-1].outcome if runs else None


def status_key(report: Report, verdict: Verdict) -> str:
    """``verdict.status``, or ``cancelled`` for a rebalance that was cancelled: no failure
    of its own, but it did not run, not to be read (or coloured) as a success."""
    if verdict.status == "no_failure" and rebalance_outcome(report, verdict) == "cancelled":
        return "cancelled"
    return verdict.status


def status_label(report: Report, verdict: Verdict) -> str:
    """A verdict's status as the reports show it: ``failure``, ``no failure``,
    ``inconclusive`` or ``cancelled``, and ``(earlier run)`` for an earlier run's."""
    word = status_key(report, verdict).replace("_", " ")
    return word + (" (earlier run)" if verdict.later_run else "")


# --------------------------------------------------------------------------- runbook

SHORT_REASON = 80


def short_reason(blocked_by: str) -> str:
    """The head of a ``blocked_by`` text (up to its first ``: ``), one line, cut."""
    head = " ".join(blocked_by.split(": ", 1)[0].split()).rstrip(".")
    return head if len(head) <= SHORT_REASON else head[: SHORT_REASON - 1] + "…"


def blocked_sql(step: dict[str, Any]) -> list[str]:
    """A runbook step's statements; a blocked step's commented out, each line
    ``-- BLOCKED (<reason>): <statement>``, so that a copy or a paste runs nothing."""
    sql = [str(s) for s in step.get("sql") or []]
    if not step.get("blocked_by"):
        return sql
    mark = f"-- BLOCKED ({short_reason(str(step['blocked_by']))}): "
    return [mark + line for s in sql for line in s.splitlines() or [""]]


# --------------------------------------------------------------------------- evidence


def evidence_place(ev: dict[str, Any]) -> str:
    """``file:line [node]``; a line with no node (a status output's) names none."""
    place = (
        f"{ev.get('file')}:{ev.get('line')}" if ev.get("line") is not None else str(ev.get("file"))
    )
    return f"{place} [{ev['node']}]" if ev.get("node") else place


# --------------------------------------------------------------------------- redaction

#: The header of a redacted report: what is hidden, what is not (the JSON's assumption).
REDACTED_HEADER = REDACTION_NOTE


__all__ = [
    "REDACTED_HEADER",
    "RISK_UNKNOWN",
    "Risk",
    "as_utc",
    "blocked_sql",
    "evidence_place",
    "fmt_stamp",
    "fmt_time",
    "local_time",
    "offset_label",
    "readable_times",
    "risk",
    "short_reason",
    "status_key",
    "status_label",
    "unknown_risk",
    "zone_name",
]
