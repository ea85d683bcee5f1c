"""The ``forensics`` command line: thin click commands over the library.

Exit codes (SPEC §6.1) are decided here only: 0 analysed, nothing wrong; 1 analysed,
failure, redundancy risk or an unfinished rebalance found; 2 usage or unreadable input; 3 internal error.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

# NumPy's OpenBLAS starts a thread per core at import that spins now and then; nothing
# here does linear algebra.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click

from . import __version__, allocator
from .clock import zone_name
from .errors import ForensicsError, UsageError

EXIT_OK, EXIT_FOUND, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_PIPE = 141  # the reader of the output went away, as for a process ended by SIGPIPE
F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int) -> None:
    click.echo(f"forensics: {message}", err=True)
    sys.exit(code)


def _os_message(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    return f"{exc.filename}: {what}" if exc.filename is not None else what


def error_boundary(func: F) -> F:
    """One place where exceptions become messages and exit codes; no tracebacks."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(click.get_current_context().find_root().params.get("debug"))
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:  # `forensics events ... | head`: not an error, just stop
            _drop_stdout()
            sys.exit(EXIT_PIPE)
        except Exception as exc:  # the boundary: nothing gets past as a traceback
            if debug:
                traceback.print_exc()
            message, code = describe(exc)
            _fail(message, code)

    return wrapper  # type: ignore[return-value]


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def describe(exc: BaseException) -> tuple[str, int]:
    """The one-line message and exit code for an exception that reached the boundary."""
    if isinstance(exc, ForensicsError):  # InputError, RuleError, UsageError, LimitExceeded
        return str(exc), EXIT_USAGE
    if isinstance(exc, OSError):  # a path we were told to read or write is not usable
        return _os_message(exc), EXIT_USAGE
    return (
        f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
        EXIT_INTERNAL,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="forensics")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
def main(debug: bool) -> None:
    """Offline forensics for failed SingleStore rebalances.

    Point it at a support bundle (folder, archive or files) to learn what failed, why,
    what it cost and what to do next.
    """
    allocator.tune()


#: What the first bytes of a report or export this tool wrote hold: such a file inside
#: an input may be written over (a report saved in the bundle, written again).
_OWN_MARKS = (
    b'"schema": "forensics.report/v1"',
    b"# Rebalance forensics report",
    b'content="rebalance-forensics',
)


def _check_outputs(*outputs: str | None, inputs: Sequence[str] = ()) -> None:
    """Before any work: every report goes to a file of its own in an existing folder,
    and never over a file of the inputs (SPEC §9: inputs are read-only) other than a
    report this tool wrote there."""
    given: dict[Path, str] = {}
    for out in outputs:
        if out is None or out == "-":
            continue
        path = Path(out)
        if not path.parent.is_dir():
            raise UsageError(f"cannot write here: no such folder {path.parent}", out)
        if path.is_dir():
            raise UsageError("cannot write here: it is a folder", out)
        real = path.resolve()
        if real in given:
            raise UsageError("given for two outputs: give each its own file", out)
        given[real] = out
        if path.is_file() and _inside(real, inputs) and not _own_output(path):
            raise UsageError(
                "is a file of the input being analysed: not written over (write elsewhere)",
                out,
            )


def _inside(real: Path, inputs: Sequence[str]) -> bool:
    for given in inputs:
        top = Path(given).resolve()
        if real == top or top in real.parents:
            return True
    return False


def _parquet(path: Path) -> bool:
    """Whether ``path`` holds a Parquet file (its magic number), an empty one too."""
    with path.open("rb") as fh:
        head = fh.read(4)
    return head in (b"PAR1", b"")


def _own_output(path: Path) -> bool:
    """A report this tool wrote (:data:`_OWN_MARKS`), or an export of ``events``."""
    if path.suffix.lower() == ".parquet":
        return True  # (no input is Parquet)
    with path.open("rb") as fh:
        head = fh.read(1024)
    return any(mark in head for mark in _OWN_MARKS)


def _start_helper(paths: tuple[str, ...]) -> None:
    """For large inputs, the helper process that finds the lines with keep words starts
    now, and reads ahead while this process imports Polars (forensics/parsers/prefilter.py)."""
    from .parsers import prefilter

    prefilter.start(paths)


def _load(
    bundle: tuple[str, ...],
    tz: tuple[str, ...],
    node: tuple[str, ...],
    max_bytes: int | None,
    skew: tuple[str, ...] = (),
) -> Any:
    from .loader import load_bundle
    from .nodes import parse_overrides
    from .progress import progress_reporter

    zone, per_node = _split_tz(tz)
    try:
        overrides = parse_overrides(node)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    with progress_reporter() as progress:
        loaded = load_bundle(
            list(bundle),
            tz=zone,
            node_tz=per_node,
            node_overrides=overrides,
            max_bytes=max_bytes,
            progress=progress,
            node_skew=_split_skew(skew),
        )
    return loaded


def _prepare(bundle: tuple[str, ...], rules_dir: tuple[str, ...], reports: list[str]) -> Any:
    """The rules, with a warning for each user rule whose examples fail. First, for large inputs, the compiled tracelog fast path is loaded (the
    first pieces wait for it); then the rules are parsed and what the analysis and the
    requested ``reports`` need is imported."""
    import importlib

    from .parsers import tracelog

    tracelog.warm_up_for(bundle)
    from .rules import load_rules
    from .rules.testing import example_warnings

    rules = load_rules([Path(d) for d in rules_dir])
    warnings = example_warnings(rules) if rules_dir else []
    for name in ["analysis", "outputs", *(f"report.{r}" for r in reports)]:
        importlib.import_module(f".{name}", __package__)
    return rules, warnings


def run() -> None:
    """Console entry point: :func:`main`, then exit without tearing down the heap.

    Freeing a gigabyte of frames object by object takes a few tenths of a second that
    nobody waits for; outputs are written and flushed before."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            click.echo(exc.code, err=True)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _drop_stdout()
        code = code or EXIT_PIPE
    sys.stderr.flush()
    helper = sys.modules.get(f"{__package__}.parsers.prefilter")
    if helper is not None:  # ended and waited for, so that its time counts as this run's
        helper.stop()
    os._exit(code)


def _split_tz(values: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    zone, per_node = "UTC", {}
    for value in values:
        if "=" in value:
            node, _, z = value.partition("=")
            per_node[node] = zone_name(z)
        else:
            zone = zone_name(value)
    return zone, per_node


_SKEW = re.compile(r"^(?P<node>[^=]+)=(?P<seconds>[+-]?\d+(?:\.\d+)?)\s*s?$")


def _split_skew(values: tuple[str, ...]) -> dict[str, float]:
    """``--skew NODE=SECONDS`` values: node -> seconds its clock runs ahead."""
    skews = {}
    for value in values:
        m = _SKEW.match(value.strip())
        if m is None:
            raise UsageError(
                f"--skew {value!r}: give NODE=SECONDS, the seconds that node's clock runs "
                "ahead of the master aggregator's (negative: behind), e.g. 10.0.0.5:3306=150"
            )
        skews[m.group("node").strip()] = float(m.group("seconds"))
    return skews


def bundle_options(func: F) -> F:
    func = click.option(
        "--skew",
        multiple=True,
        metavar="NODE=SECONDS",
        help="Seconds a node's clock runs ahead of the master aggregator's (negative: "
        "behind); its log times are read that much earlier.",
    )(func)
    func = click.option(
        "--max-bytes",
        type=click.IntRange(min=1),
        default=None,
        help="Stop when more than this many decompressed bytes are read.",
    )(func)
    func = click.option(
        "--node",
        multiple=True,
        metavar="GLOB=HOST:PORT",
        help="Name the node of files matching GLOB.",
    )(func)
    func = click.option(
        "--tz",
        multiple=True,
        metavar="[NODE=]ZONE",
        help="Time zone of tracelog timestamps (default UTC), for all or one node.",
    )(func)
    return click.argument("bundle", nargs=-1, required=True, type=click.Path())(func)


@main.command()
@bundle_options
@click.option(
    "--kind",
    type=click.Choice(
        [
            "events",
            "steps",
            "partitions",
            "files",
            "nodes",
            "line_counts",
            "leaves",
            "variables",
            "disk_usage",
        ]
    ),
    default="events",
    show_default=True,
    help="Which frame to export.",
)
@click.option(
    "--level",
    default=None,
    help="Events at or above this level (INFO, WARN, ERROR, FAILURE; FATAL is FAILURE); "
    "--kind events only.",
)
@click.option(
    "--grep",
    "pattern",
    default=None,
    help="Events whose message matches this regex (--kind events).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    default=None,
    help="Write to F.parquet, F.csv or F.json instead of a table on stdout.",
)
@error_boundary
def events(
    bundle: tuple[str, ...],
    tz: tuple[str, ...],
    node: tuple[str, ...],
    max_bytes: int | None,
    skew: tuple[str, ...],
    kind: str,
    level: str | None,
    pattern: str | None,
    output: str | None,
) -> None:
    """Export the normalised frames of a bundle (events, steps, partitions, files...)."""
    from .export import filter_events, print_frame, write_frame

    level = _event_level(level)  # (before loading: a wrong word is a usage error at once)
    if kind != "events" and (level is not None or pattern is not None):
        raise UsageError(f"--level and --grep filter the events; --kind {kind} has none")
    _check_outputs(output, inputs=bundle)
    loaded = _load(bundle, tz, node, max_bytes, skew)
    frame = loaded.frame(kind)
    if kind == "events":
        frame = filter_events(frame, level=level, pattern=pattern)
    if output:
        write_frame(frame, Path(output))
        click.echo(f"wrote {frame.height} rows to {output}", err=True)
    else:
        print_frame(frame)


def _event_level(word: str | None) -> str | None:
    """The events-frame level of a ``--level`` word: any level word the tracelog grammar
    reads (``grammars/tracelog.toml`` [levels], e.g. FATAL -> FAILURE), in any case; the
    user types the word the log shows."""
    if word is None:
        return None
    from .parsers.layout import layout

    levels = {w.upper(): level for w, level in layout().levels.items()}
    if word.strip().upper() not in levels:
        raise UsageError(f"--level: unknown level {word!r}; use one of {', '.join(levels)}")
    return levels[word.strip().upper()]


def _parse_time(value: str | None, zone: str) -> Any:
    if value is None:
        return None
    from datetime import datetime
    from zoneinfo import ZoneInfo

    try:
        ts = datetime.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(
            f"cannot read time {value!r}: use ISO 8601, e.g. 2026-03-02T10:15"
        ) from exc
    return ts if ts.tzinfo else ts.replace(tzinfo=ZoneInfo(zone))


@main.command()
@bundle_options
@click.option("--html", "html_out", type=click.Path(), help="Write the HTML report here.")
@click.option("--json", "json_out", type=click.Path(), help="Write the JSON report here.")
@click.option("--md", "md_out", type=click.Path(), help="Write the Markdown summary here.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="What to print on stdout.",
)
@click.option(
    "--rules",
    "rules_dir",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Extra rule folder (adds to or overrides built-in rules).",
)
@click.option(
    "--redundancy",
    type=click.IntRange(1, 2),
    default=None,
    help="Redundancy level when the bundle has no SHOW VARIABLES.",
)
@click.option("--since", default=None, help="Ignore log lines before this time (ISO 8601).")
@click.option("--until", default=None, help="Ignore log lines after this time (ISO 8601).")
@click.option(
    "--redact", is_flag=True, help="Replace hosts, IPs and database names with pseudonyms."
)
@error_boundary
def analyze(
    bundle: tuple[str, ...],
    tz: tuple[str, ...],
    node: tuple[str, ...],
    max_bytes: int | None,
    skew: tuple[str, ...],
    html_out: str | None,
    json_out: str | None,
    md_out: str | None,
    fmt: str,
    rules_dir: tuple[str, ...],
    redundancy: int | None,
    since: str | None,
    until: str | None,
    redact: bool,
) -> None:
    """Diagnose a failed rebalance: verdict, evidence, impact and recovery runbook.

    Exit code 0: no failure or risk found; 1: failure, redundancy risk or a rebalance
    without a known outcome found;
    2: unusable input; 3: internal error.
    """
    _check_outputs(html_out, json_out, md_out, inputs=bundle)
    zone, _ = _split_tz(tz)
    window = _parse_time(since, zone), _parse_time(until, zone)
    if window[0] is not None and window[1] is not None and window[0] > window[1]:
        raise UsageError(f"--since {since} is later than --until {until}: no line could be read")
    _start_helper(bundle)
    # The rule conditions are parsed and the later stages imported (pure Python) while
    # the bundle loads (mostly native code that releases the GIL): that hides their time.
    with ThreadPoolExecutor(max_workers=1) as pool:
        reports = ["json", "html" if html_out else "", "markdown" if md_out else ""]
        reports.append({"text": "terminal", "markdown": "markdown"}.get(fmt, ""))
        rules = pool.submit(_prepare, bundle, rules_dir, [r for r in reports if r])
        loaded = _load(bundle, tz, node, max_bytes, skew)
        ruleset, rule_warnings = rules.result()
    for warning in rule_warnings:
        click.echo(f"forensics: warning: {warning}", err=True)
    from .analysis import analyze_bundle
    from .outputs import write_outputs

    report = analyze_bundle(
        loaded,
        rules=ruleset,
        redundancy=redundancy,
        since=window[0],
        until=window[1],
    )
    report.warnings[:0] = rule_warnings
    write_outputs(
        report, html=html_out, json_path=json_out, md=md_out, stdout_format=fmt, redact=redact
    )
    sys.exit(report.exit_code)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    required=True,
    help="Incidents table (Parquet); per-input statistics go to NAME.inputs.parquet.",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 256),
    default=None,
    help="Inputs analysed in parallel (default: all cores).",
)
@click.option(
    "--tz",
    multiple=True,
    metavar="[NODE=]ZONE",
    help="Time zone of tracelog timestamps (default UTC), for all or one node.",
)
@error_boundary
def scan(paths: tuple[str, ...], output: str, jobs: int | None, tz: tuple[str, ...]) -> None:
    """Scan many bundles and historical logs for rebalance failures, into Parquet.

    Inputs already in OUTPUT (same content hash, same --tz) are skipped, so re-running is
    cheap; inputs that could not be read are tried again. Exit code 0 when the tables are
    written (failures found are rows, not an exit code); 2: unusable paths or output.
    """
    from .scan import stats_path

    tables = (output, str(stats_path(Path(output))))
    _check_outputs(*tables, inputs=paths)
    for table in map(Path, tables):
        if table.is_file() and not _parquet(table):
            raise UsageError(
                "exists and is no Parquet table: not written over (give a new file or an "
                "earlier scan's table)",
                str(table),
            )
    if Path(output).suffix.lower() not in ("", ".parquet", ".pq"):
        raise UsageError(
            "the incidents table is Parquet: give a file name ending in .parquet", output
        )
    zone, per_node = _split_tz(tz)
    _start_helper(paths)
    from .progress import count_reporter
    from .scan import scan as run_scan

    with count_reporter("scanning") as progress:
        result, counts = run_scan(
            list(paths), Path(output), jobs=jobs, tz=zone, node_tz=per_node, on_progress=progress
        )
    failed = result.stats.filter(pl_col_not_null("error")).height
    repeated = result.incidents.filter(pl_col_not_null("same_incident_as")).height
    seen = f", {repeated} of them also in another input" if repeated else ""
    notes = [f"{counts.already} skipped as already scanned"]
    if counts.duplicates:
        notes.append(f"{counts.duplicates} with the same content as another input, not scanned")
    if counts.not_followed:
        notes.append(f"{counts.not_followed} not followed (links)")
    notes.append(f"{failed} unreadable")
    click.echo(
        f"{result.incidents.height} incident(s){seen} in {result.stats.height} input(s) "
        f"({', '.join(notes)}); wrote {output} and {stats_path(Path(output))}",
        err=True,
    )


@main.command("warm-up")
@error_boundary
def warm_up() -> None:
    """Compile the tracelog fast path once for this installation (about 20 s).

    Later runs then load it in a millisecond. Needs Numba and a C compiler; without
    them, large logs are still read, through Numba's just-in-time kernels or Polars.
    """
    from .parsers import compiled

    try:
        folder = compiled.build()
    except ImportError as exc:
        raise UsageError(f"cannot compile the fast path: {exc}") from exc
    except Exception as exc:  # numba.pycc or the C compiler failed
        first = str(exc).strip().splitlines()[:1] or [""]
        raise UsageError(f"cannot compile the fast path: {type(exc).__name__}: {first[0]}") from exc
    click.echo(f"fast path compiled in {folder}", err=True)


def pl_col_not_null(name: str) -> Any:
    import polars as pl

    return pl.col(name).is_not_null()


@main.group()
def rules() -> None:
    """List, show and test the cause rules."""


@rules.command("list")
@click.option(
    "--rules",
    "rules_dir",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Extra rule folder (adds to or overrides built-ins).",
)
@error_boundary
def rules_list(rules_dir: tuple[str, ...]) -> None:
    """One line per rule: id, cause or factor, phases, severity, title."""
    from .rules import load_rules

    for rule in load_rules([Path(d) for d in rules_dir]):
        what = rule.cause or rule.factor or "-"
        click.echo(
            f"{rule.id:<8} {what:<24} {','.join(rule.phases):<18} {rule.severity:<9} {rule.title}"
        )


@rules.command("show")
@click.argument("rule_id")
@click.option("--rules", "rules_dir", multiple=True, type=click.Path(file_okay=False))
@error_boundary
def rules_show(rule_id: str, rules_dir: tuple[str, ...]) -> None:
    """Everything about one rule."""
    from .rules import load_rules, render_catalogue

    ruleset = load_rules([Path(d) for d in rules_dir])
    found = [r for r in ruleset if r.id.lower() == rule_id.lower()]
    if not found:
        raise UsageError(f"no rule with id {rule_id!r} (see 'forensics rules list')")
    click.echo(render_catalogue(found))


@rules.command("test")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@error_boundary
def rules_test(directory: str | None) -> None:
    """Check every rule's examples (built-ins, plus DIRECTORY if given)."""
    from .rules import check_rules, load_rules

    ruleset = load_rules([Path(directory)] if directory else [])
    failures = check_rules(ruleset)
    for failure in failures:
        click.echo(str(failure))
    count = len(list(ruleset))
    click.echo(
        f"{count - len({f.rule for f in failures})} passed, {len({f.rule for f in failures})} failed"
    )
    if failures:
        sys.exit(EXIT_FOUND)


if __name__ == "__main__":  # pragma: no cover
    main()
