"""Generated pipeline data for the benchmarks: orders as the API receives them.

Deterministic (a fixed seed) and realistic enough to exercise every path of the
validator: about 4% invalid records (bad currency, bad amount, missing field) and
2% repeated ``order_id`` values, the rest valid with varied values.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

__all__ = ["orders", "raw_lines", "write_raw"]

_CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CAD")


def orders(
    count: int, *, seed: int = 13, invalid: bool = True, start: int = 0
) -> list[dict[str, Any]]:
    """``count`` order records (ids from ``start``); ``invalid=False`` for a batch the API
    accepts."""
    rng = random.Random(seed)
    records = []
    for index in range(start, start + count):
        number = index if not (invalid and rng.random() < 0.02) else max(0, index - 5)
        record: dict[str, Any] = {
            "order_id": f"ORD-{number:07d}",
            "customer_id": f"cust-{rng.randrange(5000)}",
            "amount": f"{rng.randrange(1, 100000) / 100:.2f}",
            "currency": _CURRENCIES[rng.randrange(len(_CURRENCIES))],
            "created_at": f"2026-0{rng.randrange(1, 10)}-1{rng.randrange(10)}T"
            f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:00+0{rng.randrange(6)}:00",
            "items": [
                {"sku": f"SKU-{rng.randrange(900)}", "quantity": rng.randrange(1, 5),
                 "unit_price": rng.randrange(1, 5000) / 100}
                for _ in range(rng.randrange(1, 4))
            ],
        }  # fmt: skip
        roll = rng.random() if invalid else 1.0
        if roll < 0.015:
            record["currency"] = "XXX"
        elif roll < 0.03:
            record["amount"] = "twelve"
        elif roll < 0.04:
            del record["customer_id"]
        records.append(record)
    return records


def raw_lines(count: int, *, seed: int = 13) -> list[str]:
    """The JSONL lines of a raw batch of ``count`` orders."""
    return [json.dumps(record) for record in orders(count, seed=seed)]


def write_raw(path: Path, size: int, *, block: int = 20_000) -> int:
    """Write a raw batch of about ``size`` bytes (whole lines, at least ``size``) to
    ``path``, ``block`` orders at a time (never held whole); returns the line count.
    Deterministic, so a file already there of the same name is reused."""
    done = path.with_suffix(path.suffix + ".lines")
    if path.exists() and done.exists():
        return int(done.read_text())
    lines = written = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        while written < size:
            text = "".join(json.dumps(r) + "\n" for r in orders(block, seed=lines, start=lines))
            out.write(text)
            written += len(text.encode("utf-8"))
            lines += block
    done.write_text(str(lines))
    return lines
