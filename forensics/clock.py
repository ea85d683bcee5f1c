"""Time-zone names given by the user (``--tz``), checked once with one message."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import UsageError


def check_timezone(zone: str) -> str:
    """``zone`` if it is an IANA time-zone name, else a UsageError saying what to use."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(
            f"unknown time zone {zone!r} (use an IANA name such as UTC or Europe/Berlin)"
        ) from exc
    return zone
