"""``migrate(..., handler=...)``: the deployed handler is used as given, or refused with
the fix when the legacy folder has no such file (etl-ops import passes it).

Unit tier: the refusal happens before any tool runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_platform.ops.migrate import MigrationError, migrate


def test_a_handler_naming_a_missing_file_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    # GIVEN a legacy folder whose code is app.js
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "app.js").write_text("exports.main = async () => 1;\n")
    catalog = tmp_path / "lambdas"
    # WHEN migrated with the handler index.handler (no index.js)
    with pytest.raises(MigrationError, match=r"no index\.js/\.mjs/\.cjs in .*<file>\.<export>"):
        migrate(legacy, "app", handler="index.handler", catalog_dir=catalog)
    # THEN nothing was written
    assert not (catalog / "app").exists()
