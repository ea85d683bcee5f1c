"""Time-zone names given by the user (``--tz``), checked once with one message."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import UsageError

_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def zone_name(zone: str) -> str:
    """``zone`` as an IANA name: a fixed offset (``+05:00``, ``UTC-3``) becomes the
    ``Etc/GMT`` zone of that offset (whose sign is reversed, by POSIX convention)."""
    if zone.strip().upper() in ("UTC", "GMT", "Z", "ZULU"):
        return "UTC"
    m = _OFFSET.match(zone.strip())
    if m is None:
        return zone
    sign, hours, minutes = m.group(1), int(m.group(2)), int(m.group(3) or 0)
    if minutes or hours > 14:
        raise UsageError(
            f"time zone offset {zone!r} has no Etc/GMT zone: use an IANA name (such as "
            "Asia/Kolkata for +05:30)"
        )
    return "UTC" if hours == 0 else f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"


def check_timezone(zone: str) -> str:
    """``zone`` if it is an IANA time-zone name, else a UsageError saying what to use."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(
            f"unknown time zone {zone!r} (use an IANA name such as UTC or Europe/Berlin)"
        ) from exc
    return zone
