"""Section 3: the transform core vs bare ``json.loads`` + ``json.dumps`` of the same lines.

In the target interpreter, on the built function and layer: ``transform_lines`` (parse,
validate, normalize, de-duplicate) over a generated raw batch, interleaved with a bare
loop that only parses and re-serialises each line. Records per second; the ratio is
ours / bare (a speed, higher is better). A cProfile of one of our runs is listed.
"""

from __future__ import annotations

from benchmarks.data import raw_lines
from benchmarks.harness import BENCH_DIR, Context, Section

ORDER = 3
TITLE = "3. Transform core vs bare json.loads + json.dumps (records/s)"
GOAL = ">= 0.40"


def run(ctx: Context) -> Section:
    section = Section("transform", TITLE)
    count = 5_000 if ctx.quick else 20_000
    lines_file = BENCH_DIR / "data" / f"raw-{count}.jsonl"
    lines_file.parent.mkdir(parents=True, exist_ok=True)
    lines_file.write_text("\n".join(raw_lines(count)), encoding="utf-8")
    result = ctx.run_worker(
        {"scenario": "transform_core", "lines_file": str(lines_file), "runs": ctx.runs},
        ctx.paths("transform"),
        ctx.lambda_env("transform", AWS_LAMBDA_FUNCTION_NAME=""),  # core only: no tracing
    )
    records = result["records"]
    ours = section.add(
        f"transform_lines, {records:,} lines", "rec/s",
        [records / (ms / 1000) for ms in result["samples"]["ours"]],
    )  # fmt: skip
    bare = section.add(
        "bare json.loads + json.dumps", "rec/s",
        [records / (ms / 1000) for ms in result["samples"]["bare"]],
    )  # fmt: skip
    section.ratio("transform / bare (speed)", ours, bare, GOAL)
    section.notes.append(f"outcome: {result['counts']}")
    section.notes.extend(f"profile: {line}" for line in result["profile"][:8])
    return section
