"""One error hierarchy. Every error carries a place (``path:line``) when it has one.

Per-line problems are not raised: parsers count them and return warnings. Raise only for
what makes a whole input unusable; the CLI turns these into exit code 2.
"""

from __future__ import annotations


class ForensicsError(Exception):
    """Base class. ``str(err)`` is ``path:line: message`` (or ``path: message``)."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    @property
    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def __str__(self) -> str:
        loc = self.location
        return f"{loc}: {self.message}" if loc else self.message


class InputError(ForensicsError):
    """The input cannot be used at all (missing path, not a bundle, empty bundle)."""


class LimitExceeded(InputError):
    """A safety bound was hit (decompressed size, nesting depth)."""


class RuleError(ForensicsError):
    """A rule file or rule condition is malformed."""


class UsageError(ForensicsError):
    """A command-line option has a bad value (e.g. an unknown time zone)."""
