"""Ahead-of-time build of the fast-path kernels (:mod:`._kernels`), so that a run loads
machine code in a millisecond instead of importing Numba and loading its cache (about
0.65 s on the benchmark machine, all of it before the first piece can be parsed).

``forensics warm-up`` (run by ``make`` after installing) compiles the kernels with
Numba's ``numba.pycc`` (it needs a C compiler) into a small extension module kept in
the user cache (``$FORENSICS_CACHE_DIR``, else ``$XDG_CACHE_HOME/forensics``, else
``~/.cache/forensics``), under a key made of the kernels' source, the Python and NumPy
versions and the machine. :func:`load` imports it without Numba when its key matches;
otherwise :mod:`.linescan` falls back to Numba's just-in-time kernels, and without Numba
to the Polars path. The same source compiled either way gives the same results (a test
runs both on the same pieces).
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from . import _codes

MODULE = "forensics_kernels"
# Exported functions and their Numba signatures (exactly the types linescan passes).
SIGNATURES = {
    "lines": (
        "Tuple((int64[::1], int64[::1], uint8[::1], uint8[::1], int64[::1], int64[::1],"
        " boolean[::1], int64[::1], boolean, boolean))(uint8[::1], uint8[:, ::1], int64[::1], uint8[::1])"
    ),
    "order": (
        "Tuple((int64[::1], int64[:, ::1], int64[::1], uint8[::1], int64[::1]))"
        "(boolean[::1], uint8[::1], int64[::1], int64[::1], boolean[::1], int64, int64)"
    ),
    "gather": "Tuple((uint8[::1], int64[::1]))(uint8[::1], int64[::1], int64[::1], int64[::1])",
    "sample_lines": (
        "Tuple((int64, int64[::1], int64[::1], int64[::1], int64[::1], uint8[::1], uint8[::1],"
        " int64[::1], int64[::1], boolean[::1], int64[::1]))"
        "(uint8[::1], int64[::1], int64, uint8[:, ::1], int64[::1], uint8[::1])"
    ),
}
_HERE = Path(__file__).resolve().parent
_SOURCES = ("_kernels.py", "_codes.py", "compiled.py")


def cache_dir() -> Path:
    base = os.environ.get("FORENSICS_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "forensics"


def key() -> str:
    """What the compiled module depends on: the sources, Python, NumPy, the machine."""
    import numpy as np

    h = hashlib.sha256()
    for name in _SOURCES:
        h.update((_HERE / name).read_bytes())
    h.update(f"{sys.version_info[:2]}|{np.__version__}|{platform.machine()}".encode())
    h.update(_cpu_flags().encode())  # code built for this host's instruction set
    return h.hexdigest()[:20]


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return line
    except OSError:
        pass
    return platform.processor()


def _target(base: Path | None = None) -> Path:
    return (base or cache_dir()) / f"kernels-{key()}"


def _module_file(folder: Path) -> Path | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = folder / f"{MODULE}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def load(base: Path | None = None) -> Any | None:
    """The compiled kernels with the constants of :mod:`._codes`, or None when no build
    for this key exists (or it cannot be imported)."""
    try:
        path = _module_file(_target(base))
    except OSError:
        return None
    if path is None:
        return None
    module = _import(path)
    if module is None:
        return None
    return SimpleNamespace(
        **{name: getattr(module, name) for name in SIGNATURES},
        PARSED=_codes.PARSED,
        CONTINUATION=_codes.CONTINUATION,
        SLOW=_codes.SLOW,
        NO_MINUTE=_codes.NO_MINUTE,
        STATS=_codes.STATS,
        source="ahead-of-time",
    )


def _import(path: Path) -> ModuleType | None:
    spec = importlib.util.spec_from_file_location(MODULE, path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError:
        return None
    return module


def build(base: Path | None = None) -> Path:
    """Compile the kernels for this key (a no-op when already built); the folder.

    Raises ImportError without Numba, and whatever ``numba.pycc`` raises without a C
    compiler. The build happens in a temporary folder renamed into place, so concurrent
    builds and interrupted ones leave no half-written module behind."""
    target = _target(base)
    if _module_file(target) is not None:
        return target
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba.pycc announces its own deprecation
        from numba.pycc import CC, compiler

    from . import _kernels

    _release_the_gil(compiler)

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="build-", dir=target.parent))
    try:
        cc = CC(MODULE)
        cc.output_dir = str(work)
        cc.target_cpu = "host"  # as Numba's JIT does; the key names the machine type
        cc.verbose = False
        for name, signature in SIGNATURES.items():
            cc.export(name, signature)(getattr(_kernels, name).py_func)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cc.compile()
        if _module_file(work) is None:
            raise RuntimeError("numba.pycc wrote no module")
        try:
            work.rename(target)
        except OSError:  # built meanwhile by another process
            if _module_file(target) is None:
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _release_the_gil(compiler: Any) -> None:
    """Make ``numba.pycc`` wrap the exported functions as ``@njit(nogil=True)`` does: it
    builds them with its module's ``Flags``, whose ``release_gil`` is off, and has no
    option for it. Without this, two pieces could not be scanned at the same time."""
    base = compiler.Flags
    if getattr(base, "releases_gil", False):
        return

    class NoGilFlags(base):  # type: ignore[misc, valid-type]
        releases_gil = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.release_gil = True

    compiler.Flags = NoGilFlags
