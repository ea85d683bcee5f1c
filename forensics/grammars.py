"""Load the declarative definitions in ``grammars/*.toml``.

The TOML files ship inside the wheel as ``forensics/grammars``; in a source checkout they
are read from the top-level ``grammars/`` folder.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from .errors import InputError

_PACKAGE_DIR = Path(__file__).resolve().parent


def grammar_dir() -> Path:
    for candidate in (_PACKAGE_DIR / "grammars", _PACKAGE_DIR.parent / "grammars"):
        if candidate.is_dir():
            return candidate
    raise InputError("grammar definitions not found (neither forensics/grammars nor grammars/)")


@cache
def load(name: str) -> dict[str, Any]:
    """Parsed ``grammars/<name>.toml``; cached. Errors name the file and line."""
    path = grammar_dir() / f"{name}.toml"
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise InputError("grammar file missing", str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        raise InputError(f"invalid TOML: {exc}", str(path), line) from exc
