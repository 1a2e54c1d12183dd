"""Names and tags: what every resource in the three projects is called and carries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl_platform.model.naming import (
    LIMITS,
    SUFFIX_PATTERN,
    bucket_name,
    check_suffix_fits,
    log_group_name,
    resource_name,
)
from etl_platform.model.settings import settings_from_mapping
from etl_platform.model.tags import REQUIRED_TAG_KEYS, cost_tags


def test_names_follow_type_name_suffix() -> None:
    assert resource_name("lambda", "transform", "dev") == "lambda-transform-dev"
    assert resource_name("role", "transform", "dev") == "role-transform-dev"
    assert resource_name("dlq", "transform", "pr-42") == "dlq-transform-pr-42"
    assert resource_name("alarms", "", "dev") == "alarms-dev"
    assert log_group_name("lambda-load-dev") == "/aws/lambda/lambda-load-dev"
    assert bucket_name("dev", "123456789012") == "etl-data-dev-123456789012"


def test_names_over_the_aws_limit_are_refused_with_the_limit() -> None:
    with pytest.raises(ValueError, match="AWS allows 64 for lambda"):
        resource_name("lambda", "x" * 60, "dev")
    with pytest.raises(ValueError, match="unknown resource type"):
        resource_name("lamda", "x", "dev")
    with pytest.raises(ValueError, match="not a valid S3 bucket name"):
        bucket_name("a" * 50, "123456789012")


suffixes = st.from_regex(r"[a-z][a-z0-9-]{0,22}[a-z0-9]", fullmatch=True).filter(
    lambda s: "--" not in s
)


@given(suffix=suffixes, function=st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True))
def test_every_name_a_valid_suffix_passes_is_within_its_limit(suffix: str, function: str) -> None:
    # GIVEN any suffix the settings accept  WHEN no problem is reported
    assert SUFFIX_PATTERN.match(suffix)
    if not check_suffix_fits(suffix, [function]):
        # THEN every derived name is within its AWS limit and carries the suffix
        for resource_type, limit in LIMITS.items():
            if resource_type == "data":
                name = bucket_name(suffix, "123456789012")
            else:
                name = resource_name(resource_type, function, suffix)
            assert len(name) <= limit
            assert suffix in name


def test_cost_tags_are_complete_and_cannot_be_overridden() -> None:
    settings = settings_from_mapping(
        {
            "aws:region": "us-east-1",
            "etl:environmentSuffix": "pr-7",
            "etl:costCenter": "cc-1234",
            "etl:owner": "data-team",
        }
    )
    tags = cost_tags(settings, Component="dlq", Owner="someone-else")
    assert set(REQUIRED_TAG_KEYS) <= set(tags)
    assert tags["EnvironmentSuffix"] == "pr-7"
    assert tags["Environment"] == "dev"
    assert tags["CostCenter"] == "cc-1234"
    assert tags["Owner"] == "data-team"  # the required tag wins over an extra one
    assert tags["ManagedBy"] == "pulumi"
    assert tags["Component"] == "dlq"
