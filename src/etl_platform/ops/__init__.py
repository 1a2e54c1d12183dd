"""Operations: commands that drive real tools, for the ``nox`` entry points.

- ``pulumi_cli``  ``deploy-all`` / ``preview-all`` / ``destroy-all`` / ``new-env`` over the
  three Pulumi projects, in deploy order, stopping at the first failure
- ``release``     after ``deploy-all``'s ``pulumi up``: CodeDeploy moves each changed
  function's alias ``live``; waited for, reported, failed on a rollback
- ``preflight``   ``etl-ops preflight``: can this account take the stacks?
- ``audit``       ``etl-ops audit``: which deployed functions break the rules, and by when
- ``cli``         the ``etl-ops`` console script
- ``redrive``     ``nox -s redrive``: send a DLQ's waiting events back to their function
- ``migrate``     ``nox -s migrate``: bring a legacy Node.js function into the catalog

Everything here is importable and unit-tested (a recording fake ``pulumi``, moto).
"""

from __future__ import annotations
