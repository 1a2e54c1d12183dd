"""Dataset registry: one schema module per dataset.

Adding a dataset means adding a module here that defines a :class:`Dataset`
(how to validate a record at the door, how to normalize it into a staged row,
and the table it loads into) and listing it in ``_MODULES``. The handlers only
use this interface.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from etl_common.schema import Problem

__all__ = [
    "DEFAULT_DATASET",
    "LINE_COLUMN",
    "VERSION_COLUMN",
    "Dataset",
    "Normalized",
    "RuleContext",
    "get",
    "names",
]

DEFAULT_DATASET = "orders"
VERSION_COLUMN = "batch_received_at"
"""Added to every staged row and table: when the batch that brought the row was received.

A row's version is ``(batch_received_at, batch_id)``: the load replaces a row
only with an equal or newer version, so a late replay of an older batch never
overwrites what a newer batch loaded."""
LINE_COLUMN = "raw_line"
"""Added to every staged row (not to the table): the row's line number in the raw object.

Transform streams every valid line to the staged object as it reads it (it cannot
hold a large batch's keys); the load keeps, for each key, the row of the highest
line number, so "a repeated key keeps the last occurrence" is exact at any size."""
_MODULES = {"orders": "etl_common.datasets.orders"}


@dataclass(frozen=True)
class RuleContext:
    """What business rules may depend on: the current time and per-function settings."""

    now: datetime
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Normalized:
    """The result of normalizing one record: a staged row or the reasons it was rejected."""

    row: dict[str, Any] | None
    problems: tuple[Problem, ...] = ()

    @property
    def accepted(self) -> bool:
        """True when the record produced a staged row."""
        return self.row is not None


@dataclass(frozen=True)
class Dataset:
    """A dataset's schema, normalization and database table.

    ``columns`` are the fields :attr:`normalize` produces (``batch_id`` among
    them), in table column order, and ``column_types`` their PostgreSQL types;
    ``key`` is the primary key used for in-batch de-duplication and for the
    upsert. The staged object and the table add :data:`VERSION_COLUMN`
    (:attr:`staged_columns`), the staged object also :data:`LINE_COLUMN`
    (:attr:`staged_file_columns`); SQL for the table is in ``etl_common.datasets.sql``.
    """

    name: str
    key: str
    validate: Callable[[Any], list[Problem]]
    normalize: Callable[[Any, str, RuleContext], Normalized]
    table: str
    columns: tuple[str, ...]
    column_types: Mapping[str, str]

    @property
    def staged_columns(self) -> tuple[str, ...]:
        """The staged object's columns: :attr:`columns` plus :data:`VERSION_COLUMN`."""
        return (*self.columns, VERSION_COLUMN)

    @property
    def staged_file_columns(self) -> tuple[str, ...]:
        """The staged object's CSV columns: :attr:`staged_columns`, then :data:`LINE_COLUMN`."""
        return (*self.staged_columns, LINE_COLUMN)

    @property
    def version_columns(self) -> tuple[str, str]:
        """A row's version, compared in this order: batch received time, then batch id."""
        return (VERSION_COLUMN, "batch_id")


def names() -> tuple[str, ...]:
    """The registered dataset names."""
    return tuple(_MODULES)


def get(name: str = DEFAULT_DATASET) -> Dataset:
    """Return the :class:`Dataset` called ``name`` (imports its module on first use)."""
    module_name = _MODULES.get(name)
    if module_name is None:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(_MODULES)}")
    dataset: Dataset = importlib.import_module(module_name).DATASET
    return dataset
