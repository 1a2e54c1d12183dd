"""The cost tags every taggable resource in the three projects carries."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from etl_platform.settings import Settings

__all__ = ["REQUIRED_TAG_KEYS", "cost_tags"]

REQUIRED_TAG_KEYS = (
    "Project",
    "Environment",
    "EnvironmentSuffix",
    "ManagedBy",
    "CostCenter",
    "Owner",
)


def cost_tags(settings: Settings, **extra: str) -> dict[str, str]:
    """Tags for one resource: the required cost tags plus ``extra`` (never overriding them)."""
    tags = {
        "Project": "etl-platform",
        "Environment": settings.environment,
        "EnvironmentSuffix": settings.suffix,
        "ManagedBy": "pulumi",
        "CostCenter": settings.cost_center,
        "Owner": settings.owner,
    }
    return {**extra, **tags}
