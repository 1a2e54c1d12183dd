"""Imported by the offline runs' forkserver only (:func:`etl_platform.checks.offline.run_program`).

Importing this module imports everything the three programs use, so that every offline
run forks from a warm process instead of importing it again. pulumi_aws loads a module
(hundreds of generated classes) only on its first attribute access, so each one is
touched here too; that saves every run a few tenths of a second.
"""

from __future__ import annotations

import importlib

from etl_platform.checks.offline import program_modules

for _name in program_modules():
    getattr(importlib.import_module(_name), "__all__", None)
