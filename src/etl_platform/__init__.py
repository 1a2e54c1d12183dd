"""The library the three Pulumi projects share.

Modules (each small, each importable and tested without a cloud):

- ``settings``  the ``etl:`` Pulumi config, validated once, with per-environment defaults
- ``catalog``   the declarative function catalog (``lambdas/*/function.toml``)
- ``naming``    ``{resource-type}-{name}-{suffix}`` names checked against AWS limits
- ``tags``      the cost tags every taggable resource carries
- ``runtimes``  supported and deprecated Lambda runtimes
- ``contract``  project names and the exports that link the three stacks
- ``packaging`` deterministic function and layer zips
- ``offline``   runs a Pulumi program under Pulumi's public mock API, one child process each
- ``planned``   what an offline run produced (resources, exports), plain data
- ``stack_config`` the one reader of ``Pulumi.yaml`` / ``Pulumi.<stack>.yaml``
- ``plan``      ``nox -s plan``: the three programs in deploy order, the guardrails
- ``docgen``    ``nox -s docs``: the generated parts of ``docs/``
"""

__version__ = "0.1.0"
