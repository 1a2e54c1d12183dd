"""Reading environment variables with validation and clear error messages.

Helpers only; each handler documents the variables it reads in its own docstring.
A bad value raises :class:`~etl_common.errors.ConfigurationError` naming the
variable, the value and what is allowed.
"""

from __future__ import annotations

import os

from etl_common.errors import ConfigurationError

__all__ = ["env_float", "env_int", "env_list", "env_str"]


def env_str(name: str, default: str = "") -> str:
    """Return the stripped value of ``name`` or ``default`` when unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_int(name: str, default: int, *, minimum: int = 1, maximum: int = 1_000_000) -> int:
    """Return ``name`` as an integer in ``[minimum, maximum]`` (``default`` when unset)."""
    raw = env_str(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not an integer") from None
    if not minimum <= value <= maximum:
        raise ConfigurationError(f"{name}={value} must be between {minimum} and {maximum}")
    return value


def env_float(name: str, default: float, *, minimum: float = 0.1, maximum: float = 900.0) -> float:
    """Return ``name`` as a number of seconds in ``[minimum, maximum]``."""
    raw = env_str(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from None
    if not minimum <= value <= maximum:
        raise ConfigurationError(f"{name}={value} must be between {minimum} and {maximum}")
    return value


def env_list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Return a comma-separated variable as a tuple of stripped, non-empty items."""
    raw = env_str(name)
    if not raw:
        return default
    items = tuple(item.strip() for item in raw.split(",") if item.strip())
    return items or default
