"""The library the three Pulumi projects share, one sub-package per concern.

Read it top-down; each package's ``__init__`` lists its modules:

- ``model``      what the platform is made of: settings, the function catalog, names,
                 tags, the stack contract, runtimes and their calendar, the SLOs
- ``infra``      the Pulumi components and the IAM documents derived from the catalog
- ``artifacts``  what gets uploaded: deterministic zips, the Python and Node layers,
                 bytecode, and the compat checks against the target runtime
- ``checks``     what is verified before deploy: the offline runner, the plan, the
                 guardrail rules, the IAM lint, the generated docs
- ``ops``        commands that drive real tools, all verbs of the one ``etl-ops`` script
                 (``ops/cli.py``): the Pulumi CLI, redrive, audit, preflight, migrate,
                 the runtime calendar's refresh

Two modules serve them all: ``paths`` (where things live in the repository) and
``errors`` (the errors raised for bad input, each saying how to fix it).
Dependencies point one way, up: ``paths``/``errors`` <- ``model`` <- ``artifacts`` <-
``infra`` <- ``checks`` <- ``ops``, with no cycle between modules and no private name
imported across them (tests/unit/foundation/test_module_graph.py holds it).
"""

__version__ = "0.1.0"
