"""The ``forensics.report/v1`` JSON document (SPEC §6.2): stable, documented, deterministic."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import polars as pl

from ..analysis import Report, finding_dict, in_display_zone, iso, verdict_dict

SCHEMA = "forensics.report/v1"
#: The JSON Schema (draft 2020-12) of the document, shipped in the package.
SCHEMA_FILE = "schema/report-v1.schema.json"


def _files(report: Report) -> list[dict[str, Any]]:
    files = report.bundle.files.sort("path")
    return [
        {
            "path": r["path"],
            "kind": r["kind"],
            "node": r["node"],
            "lines": r["lines"],
            "unparsed_lines": r["unparsed_lines"],
            "skipped_reason": r["skipped_reason"],
        }
        for r in files.iter_rows(named=True)
    ]


def _nodes(report: Report) -> list[dict[str, Any]]:
    return [
        {
            "node": r["node"],
            "role": r["role"],
            "first_ts": iso(r["first_ts"]),
            "last_ts": iso(r["last_ts"]),
            "restarts": r["restarts"],
        }
        for r in report.bundle.nodes.sort("node").iter_rows(named=True)
    ]


def _step(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "action": row["action"],
        "phase_kind": row["phase_kind"],
        "ordinal": row["ordinal"],
        "target": row["target"],
        "phase": row["phase"],
        "status": row["status"],
        "started_at": iso(row["started_at"]),
        "ended_at": iso(row["ended_at"]),
        "source": row["source"],
        "origin": row["origin"],
    }


def _rebalances(report: Report) -> list[dict[str, Any]]:
    out = []
    for rb in report.rebalances:
        steps = rb.steps.sort(["phase", "ordinal", "phase_kind", "target"], nulls_last=True)
        out.append(
            {
                "database": rb.database,
                "outcome": rb.outcome,
                "failed_phase": rb.failed_phase,
                "basis": rb.basis,
                "failure_time": iso(rb.failure_time),
                "master_aggregator": rb.master_aggregator,
                "involved_nodes": rb.involved_nodes,
                "steps": [_step(r) for r in steps.iter_rows(named=True)],
            }
        )
    return out


@in_display_zone
def to_dict(report: Report) -> dict[str, Any]:
    verdicts = [verdict_dict(v) for v in report.verdicts]
    return {
        "schema": SCHEMA,
        "tool_version": report.tool_version,
        "input": {
            "paths": report.bundle.paths,
            "timezone": report.bundle.timezone,
            "files": _files(report),
        },
        "nodes": _nodes(report),
        "rebalances": _rebalances(report),
        "findings": [finding_dict(f) for f in report.findings],
        "verdicts": verdicts,
        "impact": report.impact.to_json(),
        "plan_vs_actual": report.plan,
        "recovery": report.recovery,
        "assumptions": report.assumptions,
        "warnings": report.warnings,
        "exit_code": report.exit_code,
    }


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, pl.Series):
        return value.to_list()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def render(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False, default=_default) + "\n"


@cache
def _schema_text() -> str:
    return resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def schema() -> dict[str, Any]:
    """The JSON Schema of ``forensics.report/v1`` (a fresh copy; docs/report-json.md)."""
    result: dict[str, Any] = json.loads(_schema_text())
    return result


def validate(doc: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` when ``doc`` is not a valid report document.

    Needs the optional ``jsonschema`` package (a dev dependency; tools that consume the
    report can use any draft 2020-12 validator with :func:`schema` instead).
    """
    import jsonschema

    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    jsonschema.validate(doc, schema(), cls=jsonschema.Draft202012Validator, format_checker=checker)
