"""[needs] on resources the platform does not own: validated at load, resolved per stack.

At load time an entry's resource needs must be kebab-case ``etl:resources`` names
(buckets: ``name`` or ``name/prefix/``); against a stack's settings each name must be
declared, and of the kind the need acts on.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from etl_platform.errors import CatalogError
from etl_platform.model.catalog import TRIGGER_TYPES, TriggerType, load_catalog, resolve_needs
from etl_platform.model.needs import NEEDS, need
from etl_platform.model.settings import RESOURCES_KEY, Settings, settings_from_mapping

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/todos-dev"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:orders-dev"
BUCKET = "arn:aws:s3:::exports-dev"


def entry(tmp_path: Path, needs: str) -> Path:
    folder = tmp_path / "probe"
    folder.mkdir()
    (folder / "handler.py").write_text("def handler(event, context):\n    return None\n")
    (folder / "function.toml").write_text(
        textwrap.dedent(
            """\
            name = "probe"
            handler = "handler.handler"
            description = "A probe."
            kind = "batch"
            size = "small"

            [needs]
            """
        )
        + needs
        + "\n"
    )
    return tmp_path


def stack(**resources: str) -> Settings:
    return settings_from_mapping(
        {
            "aws:region": "us-east-1",
            "etl:environmentSuffix": "dev",
            RESOURCES_KEY: json.dumps(resources),
        }
    )


def test_every_need_key_of_the_vocabulary_is_a_catalog_key(tmp_path: Path) -> None:
    # GIVEN an entry using every need of model/needs.py (prefixes or names)
    lines = [
        f'{n.key} = ["{"raw/" if n.on_data_bucket else "thing"}"]'
        for n in NEEDS
        # s3_create takes raw/ (a prefix is one or the other); trigger-implied needs
        # are not [needs] keys
        if n.key not in ("s3_write",) and n.in_catalog
    ]
    catalog = load_catalog(entry(tmp_path, "\n".join(lines)))
    # WHEN loaded  THEN each is kept under its key, and the resource ones as references
    spec = catalog.get("probe")
    assert set(spec.needs) == {n.key for n in NEEDS if n.in_catalog} - {"s3_write"}
    assert {n.key for n, name, _ in spec.resource_needs} == {
        n.key for n in NEEDS if n.in_catalog and not n.on_data_bucket
    }


@pytest.mark.parametrize(
    ("needs", "key", "words"),
    [
        ('dynamodb_read = ["Todos"]', "needs.dynamodb_read", ("kebab-case", "DynamoDB table")),
        (
            f'dynamodb_read = ["{TABLE}"]',
            "needs.dynamodb_read",
            ("the ARN goes in the stack's config",),
        ),
        ('sqs_send = ["orders/x/"]', "needs.sqs_send", ("kebab-case", "SQS queue")),
        ('bucket_read = ["exports/reports"]', "needs.bucket_read", ("'exports/reports/'",)),
        ('bucket_read = ["exports/*"]', "needs.bucket_read", ("no wildcards",)),
        ('sqs_send = "orders"', "needs.sqs_send", ("list of etl:resources names",)),
        ('sns_publish = ["alerts", "alerts"]', "needs.sns_publish", ("twice",)),
        ('s3_delete = ["raw"]', "needs.s3_delete", ("key prefix like 'staged/'",)),
        ('queue_send = ["orders"]', "needs.queue_send", ("unknown", "sqs_send")),
        ('sqs_receive = ["orders"]', "needs.sqs_receive", ("implied by the trigger",)),
    ],
)
def test_a_bad_resource_need_fails_at_load_naming_the_key(
    tmp_path: Path, needs: str, key: str, words: tuple[str, ...]
) -> None:
    # GIVEN an entry with a malformed resource need  WHEN loaded
    with pytest.raises(CatalogError) as caught:
        load_catalog(entry(tmp_path, needs))
    # THEN the file and the key are named, with what is allowed
    assert caught.value.key == key
    for word in words:
        assert word in str(caught.value), str(caught.value)


def test_names_resolve_to_the_stacks_arns_with_the_needs_sub_resources(tmp_path: Path) -> None:
    # GIVEN a table read, a queue send, and a bucket prefix read
    spec = load_catalog(
        entry(
            tmp_path,
            'dynamodb_read = ["todos"]\nsqs_send = ["orders"]\nbucket_read = ["exports/in/"]',
        )
    ).get("probe")
    settings = stack(todos=TABLE, orders=QUEUE, exports=BUCKET)
    # WHEN resolved against the stack
    grants = {g.need.key: g.arns for g in resolve_needs(spec, settings, "dev")}
    # THEN each need is on the declared ARN, the table with its indexes, the bucket's prefix
    assert grants == {
        "dynamodb_read": (TABLE, f"{TABLE}/index/*"),
        "sqs_send": (QUEUE,),
        "bucket_read": (f"{BUCKET}/in/*",),
    }
    assert need("dynamodb_read").arns(TABLE) == grants["dynamodb_read"]


def test_an_undeclared_name_names_function_resource_and_stack(tmp_path: Path) -> None:
    spec = load_catalog(entry(tmp_path, 'sqs_send = ["orders"]')).get("probe")
    with pytest.raises(CatalogError) as caught:
        resolve_needs(spec, stack(todos=TABLE), "prod")
    message = str(caught.value)
    assert caught.value.key == "needs.sqs_send"
    for words in ("function 'probe'", "'orders'", "stack 'prod'", "declared: todos"):
        assert words in message, message


def test_a_resource_of_the_wrong_kind_is_refused_with_the_needs_that_fit(tmp_path: Path) -> None:
    # GIVEN a queue named in dynamodb_read
    spec = load_catalog(entry(tmp_path, 'dynamodb_read = ["orders"]')).get("probe")
    with pytest.raises(CatalogError) as caught:
        resolve_needs(spec, stack(orders=QUEUE), "dev")
    # THEN it says what it is, what the need wants, and where the queue fits
    message = str(caught.value)
    for words in ("is the SQS queue", "acts on a DynamoDB table", "use it in sqs_send"):
        assert words in message, message


def test_a_trigger_can_imply_needs_resolved_like_declared_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a trigger type whose row implies reading its queue (as an sqs trigger does);
    # the row is the test's own, keeping its queue name in the one field Trigger has today
    monkeypatch.setitem(
        TRIGGER_TYPES,
        "probe-queue",
        TriggerType(
            frozenset({"prefix"}),
            asynchronous=False,
            needs=lambda trigger: (("sqs_receive", str(trigger.prefix)),),
        ),
    )
    root = entry(tmp_path, "")
    toml = root / "probe" / "function.toml"
    toml.write_text(toml.read_text() + '\n[trigger]\ntype = "probe-queue"\nprefix = "orders"\n')
    spec = load_catalog(root).get("probe")
    # WHEN resolved  THEN the role gets the consumer's actions on exactly that queue
    (grant,) = resolve_needs(spec, stack(orders=QUEUE), "dev")
    assert (grant.need.key, grant.arns) == ("sqs_receive", (QUEUE,))
    assert set(grant.need.actions) == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    }
    # AND a resource of the wrong kind is refused on the trigger key
    with pytest.raises(CatalogError) as caught:
        resolve_needs(spec, stack(orders=TABLE), "dev")
    assert caught.value.key == "trigger" and "acts on an SQS queue" in str(caught.value)
