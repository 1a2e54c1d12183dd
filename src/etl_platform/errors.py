"""Errors the platform raises for bad input; each message says what is wrong and how to fix it."""

from __future__ import annotations

__all__ = [
    "CatalogError",
    "CommandFailedError",
    "ContractError",
    "EtlPlatformError",
    "SettingsError",
]


class EtlPlatformError(Exception):
    """Base class: a problem the user can fix (config, catalog, missing deploy)."""


class CommandFailedError(EtlPlatformError):
    """A command ran and a step of it failed (``etl-ops`` exits 1, not 2)."""


class SettingsError(EtlPlatformError):
    """An ``etl:`` (or ``aws:``) config value is missing or invalid."""

    def __init__(self, key: str, value: object, allowed: str, fix: str | None = None) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        fix = fix or f"pulumi config set {key} <value> (or edit Pulumi.<stack>.yaml)"
        super().__init__(f"invalid config {key} = {value!r}: {allowed}. Fix it with: {fix}")


class CatalogError(EtlPlatformError):
    """A catalog entry (``lambdas/<name>/function.toml``) is invalid."""

    def __init__(self, path: object, key: str, problem: str) -> None:
        self.path = path
        self.key = key
        super().__init__(f"{path}: key '{key}': {problem}")


class ContractError(EtlPlatformError):
    """A stack this stack depends on lacks an export (usually: not deployed yet, or out of date)."""
