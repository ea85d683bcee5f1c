"""rebalance forensics: offline diagnosis of failed SingleStore rebalances.

Public API::

    from forensics import load_bundle, analyze
    bundle = load_bundle("report.tar.gz")      # normalised Polars frames
    bundle.events, bundle.steps, bundle.partitions, bundle.files
    report = analyze("report.tar.gz")          # verdicts, findings, impact, runbook
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Bundle": ("loader", "Bundle"),
    "load_bundle": ("loader", "load_bundle"),
    "analyze": ("analysis", "analyze"),
    "analyze_bundle": ("analysis", "analyze_bundle"),
    "Report": ("analysis", "Report"),
    "scan_file": ("scan", "scan_file"),
}

__all__ = [
    "Bundle",
    "Report",
    "__version__",
    "analyze",
    "analyze_bundle",
    "load_bundle",
    "scan_file",
]


def __getattr__(name: str) -> Any:
    # Imported on first use, so that `forensics --help` and light imports stay fast.
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'forensics' has no attribute {name!r}")
