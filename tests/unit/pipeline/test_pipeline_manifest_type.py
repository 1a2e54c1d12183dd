"""The manifest type: the only legal transitions, forward only, later counts never erased."""

from __future__ import annotations

import pytest
from etl_common.batches import STAGES, Manifest
from hypothesis import given, settings
from hypothesis import strategies as st

COUNTS = {"received": 5, "staged": 3, "rejected": 1, "duplicates": 1}


def transform(manifest: Manifest, at: str = "t1") -> Manifest:
    return manifest.transformed(
        counts=COUNTS, at=at, raw_key="raw/k", staged_key="staged/k", rejected_key="rejected/k"
    )


def load(manifest: Manifest, at: str = "t2", stale: int = 0) -> Manifest:
    return manifest.loaded(
        counts=COUNTS, loaded=3 - stale, stale=stale, at=at, staged_key="staged/k"
    )


def new() -> Manifest:
    return Manifest.received("b", dataset="orders", received=5, received_at="t0", raw_key="raw/k")


def test_a_batch_goes_received_transformed_loaded_and_conserves_its_records():
    manifest = load(transform(new()), stale=1)
    assert manifest.stage == "loaded"
    counts = manifest.counts
    assert counts["received"] == (
        counts["loaded"] + counts["rejected"] + counts["duplicates"] + counts["stale"]
    )
    assert Manifest.from_json(manifest.to_json()) == manifest


@settings(deadline=None)  # budget: the hypothesis profile (tests/conftest.py)
@given(steps=st.lists(st.sampled_from(["transform", "load"]), max_size=8))
def test_any_order_of_deliveries_never_moves_a_stage_back_or_erases_load_counts(steps):
    # GIVEN a new batch / WHEN transitions arrive in any order, repeated (at-least-once)
    manifest = new()
    for step in steps:
        before = manifest
        manifest = transform(manifest) if step == "transform" else load(manifest)
        # THEN the stage never moves back, and a load's counts survive a later transform
        assert STAGES.index(manifest.stage) >= STAGES.index(before.stage)
        if before.stage == "loaded":
            assert manifest.counts["loaded"] == before.counts["loaded"]
            assert manifest.times["loaded_at"] == before.times["loaded_at"]


def test_a_stored_document_without_a_known_stage_is_refused():
    with pytest.raises(ValueError, match="not a batch manifest"):
        Manifest.from_json({"batch_id": "b", "stage": "archived"})
