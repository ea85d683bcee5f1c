"""The ``forensics.report/v1`` JSON document: schema-valid, deterministic, one shape.

Every fixture is analysed once in-process (``--json F`` and ``--format json`` in the same
run, so both outputs come from one report) and once more in a separate interpreter with
another hash seed, so that set or dict ordering that depends on the process shows up as a
byte difference.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from forensics.cli import main
from forensics.report import json as json_report

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted(p for p in (ROOT / "fixtures").iterdir() if (p / "expected.json").exists())
DOC = ROOT / "docs" / "report-json.md"

# Runs the CLI over every fixture in a fresh interpreter; prints {fixture: sha256}.
_SECOND_RUN = """
import hashlib, json, sys
from click.testing import CliRunner
from forensics.cli import main
out = {}
for name in sys.argv[1:]:
    res = CliRunner().invoke(main, ["analyze", "fixtures/" + name, "--format", "json"])
    out[name] = [res.exit_code, hashlib.sha256(res.output.encode()).hexdigest()]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def second_run() -> subprocess.Popen[str]:
    # Started first so that it runs while this process analyses the fixtures.
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    names = [p.name for p in FIXTURES]
    return subprocess.Popen(
        [sys.executable, "-c", _SECOND_RUN, *names],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def runs(
    second_run: subprocess.Popen[str],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, dict[str, Any]]:
    """fixture name -> exit code, stdout of --format json, text of the --json file."""
    out_dir = tmp_path_factory.mktemp("json")
    runner = CliRunner()
    results = {}
    cwd = Path.cwd()
    os.chdir(ROOT)  # relative bundle paths, as a user types them (they appear in input.paths)
    try:
        for fixture in FIXTURES:
            target = out_dir / f"{fixture.name}.json"
            res = runner.invoke(
                main,
                ["analyze", f"fixtures/{fixture.name}", "--format", "json", "--json", str(target)],
            )
            results[fixture.name] = {
                "exit_code": res.exit_code,
                "stdout": res.output,
                "file": target.read_text(encoding="utf-8") if target.exists() else None,
            }
    finally:
        os.chdir(cwd)
    return results


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        json_report.schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _errors(validator: jsonschema.Draft202012Validator, doc: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)
    ]


# --------------------------------------------------------------------------- the schema


def test_schema_is_valid_draft_2020_12() -> None:
    schema = json_report.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema"]["const"] == json_report.SCHEMA


def test_schema_returns_a_fresh_copy() -> None:
    json_report.schema()["properties"].clear()
    assert json_report.schema()["properties"]


def test_closed_vocabularies_match_the_code() -> None:
    from forensics.rules import CAUSES, FACTORS, SEVERITIES

    defs = json_report.schema()["$defs"]
    assert set(defs["cause"]["enum"]) == {*CAUSES, "unknown", None}
    assert set(defs["factor"]["enum"]) == {*FACTORS, None}
    assert set(defs["phase"]["enum"]) == {"copy", "promote", "drop", None}
    assert set(defs["finding"]["properties"]["severity"]["enum"]) == set(SEVERITIES)
    assert set(defs["verdict"]["properties"]["status"]["enum"]) == {
        "failure",
        "no_failure",
        "inconclusive",
    }
    assert set(defs["finding"]["properties"]["role"]["enum"]) == {
        "cause",
        "contributing",
        "alternative",
        "unrelated",
    }
    assert set(defs["step_status"]["enum"]) == {
        "scheduled",
        "running",
        "success",
        "failed",
        "cancelled",
        "unknown",
    }


# --------------------------------------------------------------------------- fixtures


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in FIXTURES])
def test_fixture_report_validates(
    name: str, runs: dict[str, dict[str, Any]], validator: jsonschema.Draft202012Validator
) -> None:
    run = runs[name]
    assert run["exit_code"] in (0, 1), run["stdout"][-2000:]
    doc = json.loads(run["stdout"])
    assert _errors(validator, doc) == []
    assert doc["exit_code"] == run["exit_code"]


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in FIXTURES])
def test_json_file_equals_stdout(name: str, runs: dict[str, dict[str, Any]]) -> None:
    assert runs[name]["file"] is not None
    assert runs[name]["file"] == runs[name]["stdout"]


@pytest.mark.slow
def test_json_is_byte_identical_across_runs(
    runs: dict[str, dict[str, Any]], second_run: subprocess.Popen[str]
) -> None:
    stdout, stderr = second_run.communicate(timeout=600)
    assert second_run.returncode == 0, stderr[-2000:]
    other = json.loads(stdout)
    mine = {
        name: [run["exit_code"], hashlib.sha256(run["stdout"].encode()).hexdigest()]
        for name, run in runs.items()
    }
    assert mine == other


# --------------------------------------------------------------------------- other shapes


def _analyze_json(*args: str) -> dict[str, Any]:
    res = CliRunner().invoke(main, ["analyze", *args, "--format", "json"])
    assert res.exit_code in (0, 1), res.output[-2000:]
    return json.loads(res.output)


def test_log_only_input_has_null_impact(validator: jsonschema.Draft202012Validator) -> None:
    log = ROOT / "fixtures" / "copy_out_of_memory" / "10.0.1.10_3306" / "tracelogs" / "memsql.log"
    doc = _analyze_json(str(log))
    assert doc["impact"] is None
    assert _errors(validator, doc) == []


def test_redacted_report_validates(validator: jsonschema.Draft202012Validator) -> None:
    doc = _analyze_json(str(ROOT / "fixtures" / "copy_out_of_memory"), "--redact")
    assert _errors(validator, doc) == []


# --------------------------------------------------------------------------- the schema bites


@pytest.fixture(scope="module")
def sample() -> dict[str, Any]:
    return _analyze_json(str(ROOT / "fixtures" / "copy_out_of_memory"))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("schema",), "forensics.report/v2"),
        (("verdicts", 0, "status"), "failed"),
        (("verdicts", 0, "cause"), "gremlins"),
        (("verdicts", 0, "phase"), "COPY"),
        (("findings", 0, "role"), "main"),
        (("findings", 0, "confidence"), 1.5),
        (("findings", 0, "time"), "11/02/2026 03:12"),
        (("rebalances", 0, "steps", 0, "status"), "done"),
        (("impact", "data_at_risk"), "no"),
        (("recovery", 0, "blocked_by"), 5),
        (("nodes", 0, "role"), "aggregator"),
    ],
)
def test_schema_rejects_wrong_values(
    sample: dict[str, Any],
    path: tuple[Any, ...],
    value: Any,
    validator: jsonschema.Draft202012Validator,
) -> None:
    doc = copy.deepcopy(sample)
    *parents, last = path
    node = doc
    for key in parents:
        node = node[key]
    node[last] = value
    assert _errors(validator, doc)


@pytest.mark.parametrize("key", ["verdicts", "findings", "impact", "recovery", "input"])
def test_schema_requires_top_level_keys(
    sample: dict[str, Any], key: str, validator: jsonschema.Draft202012Validator
) -> None:
    doc = copy.deepcopy(sample)
    del doc[key]
    assert _errors(validator, doc)


def test_schema_rejects_undocumented_keys_but_allows_impact_extras(
    sample: dict[str, Any], validator: jsonschema.Draft202012Validator
) -> None:
    doc = copy.deepcopy(sample)
    doc["findings"][0]["surprise"] = 1
    assert _errors(validator, doc)
    doc = copy.deepcopy(sample)
    doc["impact"]["per_table"] = {}
    doc["impact"]["databases"][0]["per_table"] = {}
    assert _errors(validator, doc) == []


def test_validate_accepts_a_report_and_raises_on_an_invalid_one(sample: dict[str, Any]) -> None:
    json_report.validate(sample)
    doc = copy.deepcopy(sample)
    doc["verdicts"] = []
    with pytest.raises(jsonschema.ValidationError):
        json_report.validate(doc)


# --------------------------------------------------------------------------- docs cannot rot


def schema_paths(node: dict[str, Any], defs: dict[str, Any], prefix: str = "") -> set[str]:
    """Every property of the schema as a dotted path: ``findings[].evidence[].file``."""
    if "$ref" in node:
        return schema_paths(defs[node["$ref"].rsplit("/", 1)[1]], defs, prefix)
    paths: set[str] = set()
    for alt in node.get("anyOf", []):
        paths |= schema_paths(alt, defs, prefix)
    if "items" in node:
        paths |= schema_paths(node["items"], defs, prefix + "[]")
    for name, sub in node.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        paths.add(path)
        paths |= schema_paths(sub, defs, path)
    return paths


def test_every_schema_property_is_documented() -> None:
    schema = json_report.schema()
    text = DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"`([A-Za-z_\[\].]+)`", text))
    missing = sorted(schema_paths(schema, schema["$defs"]) - documented)
    assert missing == [], f"add these to {DOC.relative_to(ROOT)}: {missing}"


def test_documented_fields_exist_in_schema() -> None:
    """Field-table rows (``| `path` |``) name real properties: no stale docs either."""
    schema = json_report.schema()
    text = DOC.read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([A-Za-z_\[\].]+)` \|", text, flags=re.M))
    assert rows, "no field tables found"
    assert sorted(rows - schema_paths(schema, schema["$defs"])) == []


def test_doc_example_is_real_output(sample: dict[str, Any]) -> None:
    """The example in the doc is valid JSON and an excerpt of a real report (lists may be
    shortened, keys left out, nothing changed)."""
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.S)
    assert blocks, "the doc has no ```json example"
    for block in blocks:
        assert _excerpt_of(json.loads(block), sample)


def _excerpt_of(part: Any, whole: Any) -> bool:
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(
            k in whole and _excerpt_of(v, whole[k]) for k, v in part.items()
        )
    if isinstance(part, list):
        return isinstance(whole, list) and all(any(_excerpt_of(x, y) for y in whole) for x in part)
    return bool(part == whole)
