"""Tracelogs not written as UTF-8 lines ended by LF (SPEC §9): UTF-16 (Windows
PowerShell's ``kubectl logs ... > memsql.log``), lines ended by CR alone, and lines that
begin after a run of NUL bytes (what a crash leaves). Each is read with the line numbers
of the file, and what was done is said in a warning."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from forensics import load_bundle
from forensics.cli import main
from forensics.loader import _TextForm
from forensics.parsers import layout, prefilter, tracelog

# The probe's minimal failed copy: the step line (ERROR 1712) is line 3.
LINES = [
    "1000000000 2026-03-02 10:15:00.000000   INFO: Thread 115000: Rebalance: "
    "REBALANCE PARTITIONS ON db1 started",
    "1000100000 2026-03-02 10:15:00.100000   INFO: Thread 115001: Step 1/2: copying "
    "partition db1:2 on 10.0.0.4:3306 started",
    "1012100000 2026-03-02 10:15:12.100000  ERROR: Thread 115001: Step 1/2: copying "
    "partition `db1_2` on node [3] 10.0.0.4:3306 aborted: Leaf Error (10.0.0.4:3306): "
    "ERROR 1712 (HY000): Not enough memory available to complete the current request. "
    "The request was not processed.",
    "1012200000 2026-03-02 10:15:12.200000  ERROR: Thread 115000: Rebalance: "
    "REBALANCE PARTITIONS ON db1 failed",
]


def _analyze(tmp_path: Path, data: bytes) -> dict[str, Any]:
    log = tmp_path / "bundle" / "10.0.0.1_3306" / "memsql.log"
    log.parent.mkdir(parents=True)
    log.write_bytes(data)
    result = CliRunner().invoke(main, ["analyze", str(tmp_path / "bundle"), "--format", "json"])
    assert result.exit_code == 1, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _verdict(report: dict[str, Any]) -> tuple[str, str, str]:
    (verdict,) = report["verdicts"]
    return verdict["database"], verdict["phase"], verdict["cause"]


def _evidence_line(report: dict[str, Any]) -> str:
    """The ``memsql.log:N`` the verdict cites."""
    text = json.dumps(report["verdicts"][0])
    return text[text.index("memsql.log:") :].split('"')[0].split(" ")[0]


@pytest.mark.parametrize(
    ("codec", "bom"),
    [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-16-be", b"")],
    ids=["utf16le-bom", "utf16be-bom", "utf16be-no-bom"],
)
def test_a_utf16_tracelog_is_read_as_any_tracelog(tmp_path: Path, codec: str, bom: bytes) -> None:
    data = bom + "\r\n".join(LINES).encode(codec) + "\r\n".encode(codec)
    report = _analyze(tmp_path, data)
    assert _verdict(report) == ("db1", "copy", "out_of_memory")
    (row,) = report["input"]["files"]
    assert row["kind"] == "memsql_log" and row["lines"] == 4 and row["unparsed_lines"] == 0
    assert _evidence_line(report).startswith("memsql.log:3")
    assert not [w for w in report["warnings"] if "tracelog layout" in w or "missing" in w]


def test_utf16_split_anywhere_between_chunks_decodes_whole() -> None:
    """Chunks cut inside a code unit or a surrogate pair (a view ends after any 0x0A)."""
    text = "\n".join([*LINES, "1012300000 2026-03-02 10:15:12.300000   WARN: café 🚀 done"]) + "\n"
    data = b"\xff\xfe" + text.encode("utf-16-le")
    form = _TextForm.of(data[:100])
    assert form is not None and form.codec == "utf-16-le"
    for step in (1, 3, 7, 4096):
        chunks = iter([data[i : i + step] for i in range(0, len(data), step)])
        out = list(form.apply(chunks))
        assert b"".join(out) == text.encode("utf-8")
        assert all(c.endswith(b"\n") for c in out)  # whole lines (a viewer rewrite needs them)


def test_a_step_line_after_a_run_of_nuls_is_read_at_its_line(tmp_path: Path) -> None:
    """A crash left 4 KB of NULs; the restarted process appended the step line after
    them with no line end between."""
    data = "\n".join(LINES[:2]).encode() + b"\n" + b"\0" * 4096 + "\n".join(LINES[2:]).encode()
    report = _analyze(tmp_path, data + b"\n")
    assert _verdict(report) == ("db1", "copy", "out_of_memory")
    assert _evidence_line(report).startswith("memsql.log:3")
    (row,) = report["input"]["files"]
    assert row["lines"] == 4 and row["unparsed_lines"] == 0
    assert any("1 line(s) began with a run of NUL bytes" in w for w in report["warnings"])


@pytest.mark.parametrize("nuls", [1, 4096])
def test_a_step_line_after_nuls_inside_a_line_is_read(tmp_path: Path, nuls: int) -> None:
    """A crash left NULs after the end of line 2's text, and the restarted process
    appended the step line right after them: line 2 is ended at the NULs, so the step
    line is read (as line 3; the warning names line 2 of the file)."""
    data = "\n".join(LINES[:2]).encode() + b"\0" * nuls + "\n".join(LINES[2:]).encode() + b"\n"
    report = _analyze(tmp_path, data)
    assert _verdict(report) == ("db1", "copy", "out_of_memory")
    assert _evidence_line(report).startswith("memsql.log:3")
    (row,) = report["input"]["files"]
    assert row["lines"] == 4 and row["unparsed_lines"] == 0
    (warning,) = [w for w in report["warnings"] if "run of NUL bytes" in w]
    assert warning.startswith("bundle/10.0.0.1_3306/memsql.log:2: 1 line(s) held a run of NUL")
    assert "line numbers after it are one more than in the file" in warning


def test_nuls_inside_a_line_are_left_to_the_parser(tmp_path: Path) -> None:
    data = "\n".join(LINES).encode().replace(b"Thread 115001: Step", b"Thread 115001:\0 Step")
    report = _analyze(tmp_path, data + b"\n")
    assert _verdict(report) == ("db1", "copy", "out_of_memory")
    assert not [w for w in report["warnings"] if "began with a run of NUL" in w]
    assert any("NUL bytes in 2 lines" in w for w in report["warnings"])


def _big_log(lines: int) -> bytes:
    return b"".join(
        b"%010d 2026-03-02 10:%02d:%02d.000000   WARN: Thread 115062: peer said error %d\n"
        % (1000000000 + i * 1000, i // 60 % 60, i % 60, i)
        for i in range(lines)
    )


@pytest.mark.parametrize("inside", [False, True], ids=["line-start", "inside-a-line"])
def test_nuls_in_a_large_log_read_with_the_helper_give_the_same_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inside: bool
) -> None:
    """The helper answers by offsets in the file: once a line lost its NULs (or was
    ended at them, the line end before them lost) the offsets no longer fit, and the
    pieces after it are scanned by the parser itself."""
    lay = tracelog._layout()
    block = _big_log(40000)
    copies = 2 * lay.fast_min_bytes // len(block) + 2
    nul_at = len(block) * (copies // 2)  # in the middle of a later piece
    data = block * copies
    clean = tmp_path / "clean" / "10.0.1.12_3306" / "memsql.log"
    crashed = tmp_path / "crashed" / "10.0.1.12_3306" / "memsql.log"
    for path, content in (
        (clean, data),
        (crashed, data[: nul_at - inside] + b"\0" * 4096 + data[nul_at:]),
    ):
        path.parent.mkdir(parents=True)
        path.write_bytes(content)
    monkeypatch.setenv("FORENSICS_PREFILTER", "0")
    alone = load_bundle(tmp_path / "clean")
    monkeypatch.setenv("FORENSICS_PREFILTER", "1")
    small = dataclasses.replace(lay, helper_min_bytes=0, chunk_bytes=lay.fast_min_bytes)
    monkeypatch.setattr(layout, "layout", lambda: small)
    monkeypatch.setattr(tracelog, "_layout", lambda: small)
    answered: list[bool] = []
    real_usable = prefilter.usable

    def spy(hits: Any, data: Any) -> bool:
        answered.append(real_usable(hits, data))
        return answered[-1]

    monkeypatch.setattr(prefilter, "usable", spy)
    helped = load_bundle(tmp_path / "crashed")
    # the pieces before the NULs had the helper's answer; none after (it would not fit)
    assert answered and all(answered)
    assert_frame_equal(helped.events.drop("file"), alone.events.drop("file"), check_row_order=True)
    said = "held a run of NUL bytes" if inside else "began with a run of NUL bytes"
    assert any(said in w for w in helped.warnings)


def test_lines_ended_by_cr_alone_are_lines(tmp_path: Path) -> None:
    data = "\r".join(LINES).encode() + b"\r"
    report = _analyze(tmp_path, data)
    assert _verdict(report) == ("db1", "copy", "out_of_memory")
    (row,) = report["input"]["files"]
    assert row["lines"] == 4 and row["unparsed_lines"] == 0
    assert _evidence_line(report).startswith("memsql.log:3")
    assert any("carriage return alone" in w and "memsql.log" in w for w in report["warnings"])


def test_crlf_and_lf_logs_take_no_other_form() -> None:
    text = "\n".join(LINES).encode()
    assert _TextForm.of(text) is None
    assert _TextForm.of(text.replace(b"\n", b"\r\n")) is None
    assert _TextForm.of(b"\xef\xbb\xbf" + text) is None  # UTF-8 with a mark: read as it is
