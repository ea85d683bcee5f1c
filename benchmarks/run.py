"""``make bench``: end-to-end speed and memory of ``forensics analyze`` and ``scan`` (SPEC §8).

Generates (once, cached under ``benchmarks/data/``) a ~1 GB bundle of 4 padded node
tracelogs with a failed rebalance buried in it (``gen_bundle.py``), then times, as
subprocesses and by wall clock, in ``--repeat`` interleaved rounds (default 3; the table
gives each command's median run, with the fastest and slowest, because the speed of a
shared 2-core machine drifts by tens of percent between minutes; the ratio to lnav is the
median of the per-round ratios, each of runs a few seconds apart):

* ``grep -c`` over the same bytes — the floor;
* ``lnav`` indexing the same files with ``benchmarks/lnav/formats/memsql/memsql_log.json``
  (headless: ``lnav -n -c ';SELECT count(*) FROM memsql_log'``) — skipped if absent;
* ``forensics analyze`` and ``forensics scan`` on the plain, ``.gz`` and ``.zst`` copies
  (after an untimed call that compiles, or loads from Numba's cache, the fast-path kernels).

MB are 10^6 bytes of *uncompressed* tracelog + table text. Peak RSS is sampled from
``/proc`` every 20 ms over the whole process tree (the sum: a scan's worker processes
count too), and cross-checked with ``wait4``'s ``ru_maxrss`` (largest single process).
Results are printed and appended to ``BENCHMARKS.md``.

    python benchmarks/run.py                   # the 1 GB bundle
    python benchmarks/run.py --size-mb 8 --no-append --repeat 1   # smoke run
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_bundle

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LNAV_CONFIG = HERE / "lnav"
RESULTS = ROOT / "BENCHMARKS.md"
EXPECTED = ("orders", "failure", "copy", "out_of_memory")  # the buried failure
TARGETS = {"analyze": 2.0, "scan": 4.0}  # × lnav's indexing speed (SPEC §8)
MAX_RSS_PER_GB = 1.5  # GB of peak memory per GB of logs


@dataclass
class Run:
    name: str
    seconds: float
    peak_rss: int  # bytes, sum over the process tree
    max_rss: int  # bytes, largest single process (wait4)
    cpu: float  # user + system seconds of the process and its children (wait4)
    returncode: int
    stdout: str
    spread: str = ""  # the fastest and slowest of the rounds, when there were several
    vs_lnav: float | None = None  # median over the rounds of lnav's time ÷ this one's


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants (from /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == pid and p not in tree]
        tree.update(kids)
        frontier.extend(kids)
    return sum(rss.get(p, 0) for p in tree)


def measure(name: str, cmd: list[str] | str, env: dict[str, str] | None = None) -> Run:
    """Run ``cmd`` (list, or a shell string), wall clock and peak memory."""
    shell = isinstance(cmd, str)
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        shell=shell,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
        text=True,
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return Run(name, seconds, peak, usage.ru_maxrss * 1024, cpu, proc.returncode, out)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _logs(folder: Path) -> list[Path]:
    return [p for p in _files(folder) if p.name.startswith("memsql.log")]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _forensics() -> str:
    exe = Path(sys.executable).with_name("forensics")
    return str(exe) if exe.exists() else "forensics"


def _verdict(stdout: str) -> str:
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        return "no JSON"
    found = [
        (v["database"], v["status"], v.get("phase"), v.get("cause")) for v in report["verdicts"]
    ]
    return "found" if EXPECTED in found else f"MISSED ({found})"


def _lnav(files: list[Path], home: Path) -> Run | None:
    lnav = shutil.which("lnav")
    if lnav is None:
        return None
    env = {**os.environ, "HOME": str(home)}  # lnav writes its state under ~/.lnav
    cmd = [
        lnav,
        "-I",
        str(LNAV_CONFIG),
        "-n",
        "-c",
        ";SELECT count(*) FROM memsql_log",
        *map(str, files),
    ]
    return measure("lnav index", cmd, env)


def _decompress_grep(tool: str, files: list[Path]) -> str:
    quoted = " ".join(f"'{f}'" for f in files)
    return f"{tool} -dc {quoted} | grep -c ERROR"


def run(
    size_mb: float, *, append: bool, compressed: bool, out: Path | None, repeat: int = 3
) -> int:
    t0 = time.perf_counter()
    bundles = gen_bundle.build(size_mb, out)
    plain = bundles["plain"]
    mb = sum(p.stat().st_size for p in _files(plain)) / 1e6
    kinds = ("plain", "gz", "zst") if compressed else ("plain",)
    rounds: list[list[tuple[str, str, Run, str]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _compile_warm()
        for _ in range(repeat):  # interleaved, so that a slow spell of the machine hits all
            rounds.append(_round(bundles, kinds, work))
    rows = _medians(rounds)
    table = _table(rows, mb)
    print(table)
    print(f"\n{mb:,.0f} MB; bench wall time {time.perf_counter() - t0:.0f} s")
    if append:
        _append(table, mb, size_mb, repeat)
    return 0


def _round(
    bundles: dict[str, Path], kinds: tuple[str, ...], work: Path
) -> list[tuple[str, str, Run, str]]:
    """One run of every command: (input, command, run, check) rows."""
    plain = bundles["plain"]
    logs = _logs(plain)
    fx = _forensics()
    rows: list[tuple[str, str, Run, str]] = []
    _cache_warm(_files(plain))
    grep = measure("grep -c", ["grep", "-c", "ERROR", *map(str, logs)])
    rows.append(("plain", "grep -c (floor)", grep, ""))
    lnav = _lnav(logs, work)
    if lnav is not None:
        rows.append(("plain", "lnav index", lnav, lnav.stdout.split()[-1] if lnav.stdout else "?"))
    for kind in kinds:
        folder = bundles[kind]
        if kind != "plain":
            _cache_warm(_files(folder))
            tool = "gzip" if kind == "gz" else "zstd"
            floor = measure(f"{tool} -dc → grep -c", _decompress_grep(tool, _logs(folder)))
            rows.append((kind, f"{tool} -dc → grep -c", floor, ""))
        an = measure("analyze", [fx, "analyze", str(folder), "--format", "json"])
        rows.append((kind, "forensics analyze", an, _verdict(an.stdout)))
        table = work / f"{kind}.parquet"
        for stale in (table, table.with_name(f"{kind}.inputs.parquet")):
            stale.unlink(missing_ok=True)  # (else the next round skips the input)
        sc = measure("scan", [fx, "scan", str(folder), "-o", str(table)])
        rows.append((kind, "forensics scan", sc, _scan_check(table)))
    return rows


def _medians(rounds: list[list[tuple[str, str, Run, str]]]) -> list[tuple[str, str, Run, str]]:
    """Per command, the run of median time (its check; "spread" in its name when more
    than one round ran), in the order of the first round; ``vs_lnav``: the median over
    the rounds of lnav's time in the round ÷ the command's (runs a few seconds apart
    share the machine's spell, so the ratio drifts less than either time)."""
    rows = []
    at_lnav = next((i for i, row in enumerate(rounds[0]) if row[1] == "lnav index"), None)
    for i, (kind, tool, _run, _check) in enumerate(rounds[0]):
        runs = sorted((r[i] for r in rounds), key=lambda row: row[2].seconds)
        median = runs[len(runs) // 2]
        checks = {row[3] for row in runs}
        check = median[3] if len(checks) == 1 else " / ".join(sorted(checks))
        run = median[2]
        if len(runs) > 1:
            low, high = runs[0][2].seconds, runs[-1][2].seconds
            run = dataclasses.replace(run, spread=f" ({low:.1f}–{high:.1f})")
        if at_lnav is not None:
            ratios = sorted(r[at_lnav][2].seconds / r[i][2].seconds for r in rounds)
            run = dataclasses.replace(run, vs_lnav=ratios[len(ratios) // 2])
        rows.append((kind, tool, run, check))
    return rows


def _compile_warm() -> None:
    """The fast-path kernels are compiled once per installation (``forensics warm-up``,
    which ``make`` runs after installing; else Numba compiles them on first use and then
    loads them from its cache): do that before timing, as any second run would."""
    subprocess.run([_forensics(), "warm-up"], check=False, capture_output=True)
    code = "from forensics.parsers import tracelog; print(tracelog.warm_up())"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def _cache_warm(files: list[Path]) -> None:
    # Every tool reads from the page cache, so the first one is not penalised by the disk.
    for f in files:
        with f.open("rb") as fh:
            while fh.read(16 * 1024 * 1024):
                pass


def _scan_check(out: Path) -> str:
    import polars as pl

    if not out.exists():
        return "no output"
    incidents = pl.read_parquet(out)
    hit = incidents.filter((pl.col("database") == "orders") & (pl.col("cause") == "out_of_memory"))
    return "found" if hit.height else f"MISSED ({incidents.height} incidents)"


def _table(rows: list[tuple[str, str, Run, str]], mb: float) -> str:
    grep_s = rows[0][2].seconds
    head = (
        "| input | command | s (median; min–max) | CPU s | MB/s | peak RSS MB (tree / largest) | RSS per GB | "
        "× lnav, per round (target) | grep time ÷ this | result |"
    )
    lines = [head, "|" + "---|" * 10]
    for kind, tool, r, check in rows:
        speed = mb / r.seconds
        vs_lnav = f"{r.vs_lnav:.2f}" if r.vs_lnav is not None else "n/a"
        target = next((f" (≥ {v:g})" for k, v in TARGETS.items() if tool.endswith(k)), "")
        if target and r.vs_lnav is not None:
            ok = r.vs_lnav >= float(target[4:-1]) and r.peak_rss / (mb * 1e6) <= MAX_RSS_PER_GB
            target += " ✓" if ok else " ✗"
        rc = f"rc={r.returncode}" if r.returncode not in (0, 1) else ""
        lines.append(
            f"| {kind} | {tool} | {r.seconds:.1f}{r.spread} | {r.cpu:.1f} | {speed:,.0f} | "
            f"{r.peak_rss / 1e6:,.0f} / {r.max_rss / 1e6:,.0f} | {r.peak_rss / (mb * 1e6):.2f} | "
            f"{vs_lnav}{target} | {grep_s / r.seconds:.3f} | {check} {rc} |"
        )
    return "\n".join(lines)


def _append(table: str, mb: float, size_mb: float, repeat: int) -> None:
    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True, capture_output=True
        ).stdout.strip()
        or "?"
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        text=True,
        capture_output=True,
    ).stdout.strip()
    import polars as pl

    header = (
        f"\n## {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} — {mb:,.0f} MB "
        f"(gen_bundle --size-mb {size_mb:g})\n\n"
        f"Machine: {os.cpu_count()} CPUs, {_cpu_model()}; Python {platform.python_version()}, "
        f"Polars {pl.__version__}; commit {commit}{' + local changes' if dirty else ''}; "
        f"median of {repeat} interleaved rounds.\n\n"
    )
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmarks\n\nAppended by `make bench` (benchmarks/run.py).\n")
    with RESULTS.open("a") as fh:
        fh.write(header + table + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=1024.0)
    parser.add_argument("--out", type=Path, default=None, help="bundle folder (default: cached)")
    parser.add_argument("--no-append", action="store_true", help="do not write BENCHMARKS.md")
    parser.add_argument("--no-compressed", action="store_true", help="skip the .gz/.zst runs")
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds of every command (medians are reported)"
    )
    args = parser.parse_args(argv)
    return run(
        args.size_mb,
        append=not args.no_append,
        compressed=not args.no_compressed,
        out=args.out,
        repeat=max(1, args.repeat),
    )


if __name__ == "__main__":
    raise SystemExit(main())
