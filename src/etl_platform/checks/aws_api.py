"""Would AWS accept this request? Checked offline against botocore's own API models.

botocore ships the JSON model of every AWS API (the shapes, their enums, lengths and
patterns). Its client-side validator checks required members, types and minimums;
:func:`request_problems` adds what it leaves to the server: enum values, maximum
lengths and sizes, and patterns. Used by the tests that hold every resource the
platform plans to what the API that creates it takes (names within limits, enum
values such as a deployment type); nothing here calls AWS.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from botocore.validate import ParamValidator

__all__ = ["operation_model", "request_problems", "shape_problems"]


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def operation_model(service: str, operation: str) -> OperationModel:
    """The model of ``service``'s ``operation`` (``"codedeploy"``, ``"CreateDeploymentGroup"``)."""
    return _session().get_service_model(service).operation_model(operation)


def shape_problems(shape: Shape, value: Any, where: str) -> Iterator[str]:
    """What the server would refuse in ``value`` beyond botocore's own checks."""
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        for name, member in shape.members.items():
            if name in value:
                yield from shape_problems(member, value[name], f"{where}.{name}")
        return
    if isinstance(shape, ListShape) and isinstance(value, list):
        limit = shape.metadata.get("max")
        if limit is not None and len(value) > limit:
            yield f"{where} has {len(value)} items; the API allows {limit}"
        for index, item in enumerate(value):
            yield from shape_problems(shape.member, item, f"{where}[{index}]")
        return
    if isinstance(shape, MapShape) and isinstance(value, Mapping):
        for key, item in value.items():
            yield from shape_problems(shape.key, key, f"{where} key")
            yield from shape_problems(shape.value, item, f"{where}.{key}")
        return
    if shape.type_name == "string" and isinstance(value, str):
        enum = shape.enum
        if enum and value not in enum:
            yield f"{where} is {value!r}; the API allows {', '.join(enum)}"
        limit = shape.metadata.get("max")
        if limit is not None and len(value) > limit:
            yield f"{where} is {len(value)} characters; the API allows {limit}"
        pattern = shape.metadata.get("pattern")
        if pattern and re.fullmatch(pattern, value, flags=re.DOTALL) is None:
            yield f"{where} {value!r} does not match the API's pattern {pattern}"
    if shape.type_name in ("integer", "long") and isinstance(value, int):
        high = shape.metadata.get("max")
        if high is not None and value > high:
            yield f"{where} is {value}; the API allows at most {high}"


def request_problems(service: str, operation: str, params: Mapping[str, Any]) -> list[str]:
    """Every reason ``service`` would refuse ``operation(**params)``; empty when it would not."""
    model = operation_model(service, operation)
    found: list[str] = []
    report = ParamValidator().validate(dict(params), model.input_shape)
    if report.has_errors():
        found += [line for line in report.generate_report().splitlines() if line.strip()]
    found += shape_problems(model.input_shape, params, f"{service}:{operation}")
    return found
