"""rebalance forensics: offline diagnosis of failed SingleStore rebalances.

Public API::

    from forensics import load_bundle
    bundle = load_bundle("report.tar.gz")
    bundle.events, bundle.steps, bundle.partitions, bundle.files
"""

from __future__ import annotations

__version__ = "0.1.0"

from .loader import Bundle, load_bundle

__all__ = ["Bundle", "__version__", "load_bundle"]
