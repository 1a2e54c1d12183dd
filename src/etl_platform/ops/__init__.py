"""Operations: code that drives real tools (the Pulumi CLI) for the ``nox`` entry points.

- ``pulumi_cli``  ``deploy-all`` / ``preview-all`` / ``destroy-all`` / ``new-env`` over the
  three Pulumi projects, in deploy order, stopping at the first failure.

Everything here is importable and unit-tested with a recording fake ``pulumi``
executable; the noxfile only calls ``python -m etl_platform.ops.pulumi_cli``.
"""

from __future__ import annotations
