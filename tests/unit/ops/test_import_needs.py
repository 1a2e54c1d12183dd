"""``etl-ops import`` derives [needs] from the code's calls and the legacy role: the
proposal never exceeds either, whatever the role and the calls (hypothesis).

Unit tier: pure functions, no AWS.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from etl_platform.model.needs import NEEDS, need
from etl_platform.ops.account import Statement, allows
from etl_platform.ops.estate_import import Resource, derive_needs, unique_name

ACCOUNT = "123456789012"
RESOURCES = (
    Resource("orders", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"),
    Resource("jobs", f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"),
    Resource("events", f"arn:aws:sns:us-east-1:{ACCOUNT}:events"),
    Resource("exports", "arn:aws:s3:::exports"),
    Resource("db-password", f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-password"),
)
# Every action a need grants, plus some no need grants.
ACTIONS = sorted({a for n in NEEDS for a in n.actions} | {"s3:ListBucket", "logs:PutLogEvents"})
PATTERNS = [*ACTIONS, "s3:*", "dynamodb:*", "sqs:Send*", "sns:*", "*", "dynamodb:Get*"]
ARNS = [r.arn for r in RESOURCES] + [
    "arn:aws:s3:::exports/*",
    "arn:aws:s3:::exports/reports/*",
    "*",
]

statements = st.lists(
    st.builds(
        Statement,
        effect=st.sampled_from(["Allow", "Allow", "Deny"]),
        actions=st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=4).map(tuple),
        resources=st.lists(st.sampled_from(ARNS), min_size=1, max_size=3).map(tuple),
    ),
    max_size=5,
)
calls = st.lists(st.sampled_from(ACTIONS), max_size=8)


def _arn(name: str) -> str:
    base = name.split("/", 1)[0]
    return next(r.arn for r in RESOURCES if r.name == base)


def _probe(key: str, target: str) -> str:
    """The ARN a proposed need's action is checked on (an object for buckets)."""
    if need(key).target == ("s3", "bucket"):
        prefix = target.partition("/")[2]
        return f"{_arn(target)}/{prefix}example-key"
    return _arn(target)


@settings(deadline=None)  # budget: the hypothesis profile (tests/conftest.py)
@given(calls=calls, role=statements)
def test_every_proposed_need_is_for_a_call_the_code_makes(
    calls: list[str], role: list[Statement]
) -> None:
    # GIVEN any calls and any role WHEN needs are derived
    derived = derive_needs(calls, role, RESOURCES)
    # THEN every proposed need is justified only by actions the code calls
    for (key, _target), because in derived.because.items():
        assert because and set(because) <= set(calls)
        assert set(because) <= set(need(key).actions)
    # AND nothing is proposed for code that makes no call
    if not calls:
        assert derived.needs == {}


@settings(deadline=None)  # budget: the hypothesis profile (tests/conftest.py)
@given(calls=calls, role=statements)
def test_every_proposed_need_is_one_the_legacy_role_allowed(
    calls: list[str], role: list[Statement]
) -> None:
    # GIVEN any calls and any role WHEN needs are derived
    derived = derive_needs(calls, role, RESOURCES)
    # THEN the role allowed each justifying action on that very resource (Deny wins)
    for (key, target), because in derived.because.items():
        for action in because:
            assert allows(role, action, _probe(key, target)), (key, target, action)
    # AND a role that allows nothing gets nothing proposed, every call reported denied
    empty = derive_needs(calls, [], RESOURCES)
    assert empty.needs == {}
    assert set(empty.denied) | set(empty.no_need) == set(calls)


@settings(deadline=None)  # budget: the hypothesis profile (tests/conftest.py)
@given(calls=calls, role=statements)
def test_every_call_is_accounted_for(calls: list[str], role: list[Statement]) -> None:
    # WHEN needs are derived THEN each call is granted, denied, unlocated or has no need
    derived = derive_needs(calls, role, RESOURCES)
    granted = {a for because in derived.because.values() for a in because}
    reported = granted | set(derived.denied) | set(derived.unlocated) | set(derived.no_need)
    assert reported == set(calls)


def test_a_wildcard_role_gives_only_what_the_code_calls() -> None:
    # GIVEN the estate's shared role (s3:*, dynamodb:* on *) and code that reads a table
    role = [Statement("Allow", ("s3:*", "dynamodb:*"), resources=("*",), source="inline")]
    # WHEN needs are derived
    derived = derive_needs(["dynamodb:GetItem"], role, RESOURCES)
    # THEN only dynamodb_read on the table, and the wildcard s3:* is reported unused
    assert derived.needs == {"dynamodb_read": ["orders"]}
    assert derived.unused_grants == ["s3:* (inline)"]
    assert "dynamodb:Scan" in derived.extra_actions["dynamodb_read"]


def test_a_prefix_scoped_bucket_grant_stays_a_prefix() -> None:
    # GIVEN a role that may write only under exports/reports/
    role = [Statement("Allow", ("s3:PutObject",), resources=("arn:aws:s3:::exports/reports/*",))]
    # WHEN code that writes objects is imported
    derived = derive_needs(["s3:PutObject"], role, RESOURCES)
    # THEN the need is on that prefix, not the bucket
    assert derived.needs == {"bucket_write": ["exports/reports/"]}


def test_logical_names_come_from_the_arn_and_never_collide() -> None:
    # GIVEN a table and a queue that are both called "orders"
    names: dict[str, str] = {}
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders"
    # WHEN both are named for etl:resources
    first, second = unique_name(names, table), unique_name(names, queue)
    # THEN each gets its own name, and asking again gives the same one
    assert (first, second) == ("orders", "orders-sqs")
    assert unique_name(names, table) == "orders"
    assert names == {"orders": table, "orders-sqs": queue}
