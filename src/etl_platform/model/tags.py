"""The cost tags every taggable resource in the three projects carries."""

from __future__ import annotations

import importlib
import inspect
import keyword
import warnings
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from etl_platform.model.settings import Settings

__all__ = ["REQUIRED_TAG_KEYS", "cost_tags", "is_taggable"]

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


@cache
def is_taggable(type_token: str) -> bool:
    """Whether the pulumi-aws resource of ``type_token`` takes a ``tags`` input.

    Read from the installed pulumi_aws ``<Type>Args`` signature, so a new resource type
    needs no table update. Non-aws types (components, providers) are not taggable.
    """
    parts = type_token.split(":")
    if len(parts) != 3 or parts[0] != "aws":
        return False
    module = parts[1].split("/")[0]
    if keyword.iskeyword(module):
        module += "_"
    # Importing a pulumi_aws module (lazily, on attribute access too) warns about its
    # deprecated V2 classes; those warnings are not about this platform.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            mod = importlib.import_module(
                "pulumi_aws" if module == "index" else f"pulumi_aws.{module}"
            )
        except ImportError:
            return False
        args = getattr(mod, f"{parts[2]}Args", None)
    if args is None:
        return False
    return "tags" in inspect.signature(args.__init__).parameters
