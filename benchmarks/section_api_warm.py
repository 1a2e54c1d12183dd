"""Section 5: ingest-api warm latency vs minimal parse + one ``put_object``.

In the target interpreter, after a first call (so both have their clients and
connections), interleaved: our handler on a 1,000-order POST (validation of every
record, manifest, raw JSONL, the traced subsegments) vs the least a function can do
with that body: ``json.loads``, serialise the records as JSONL, one ``put_object``.
Both talk to the loopback AWS stub, so S3 itself costs next to nothing. Latency ratio:
lower is better.
"""

from __future__ import annotations

from benchmarks.data import orders
from benchmarks.harness import BUCKET, Context, Section
from benchmarks.pipeline import api_event

ORDER = 5
TITLE = "5. ingest-api warm latency, 1,000 orders, vs minimal parse + one put_object"
GOAL = "<= 2.0"


def run(ctx: Context) -> Section:
    section = Section("api_warm", TITLE)
    result = ctx.run_worker(
        {
            "scenario": "api_warm",
            "event": api_event(orders(1_000, invalid=False)),
            "bucket": BUCKET,
            "runs": ctx.runs * 2,
        },
        ctx.paths("ingest-api"),
        ctx.lambda_env("ingest-api"),
    )
    ours = section.add("ingest-api handler (warm)", "ms", result["samples"]["ours"])
    minimal = section.add("minimal: parse + one put_object", "ms", result["samples"]["minimal"])
    section.ratio("ingest-api / minimal (latency)", ours, minimal, GOAL)
    section.notes.extend(f"profile: {line}" for line in result["profile"][:10])
    return section
