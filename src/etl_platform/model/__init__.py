"""What the platform is made of: plain data, validated once, no Pulumi resources.

- ``settings``          the ``etl:`` Pulumi config as a table of key specs (``SETTING_KEYS``)
- ``catalog``           the declarative function catalog (``lambdas/*/function.toml``)
- ``needs``             the ``[needs]`` vocabulary: each key, its exact IAM actions, its target
- ``resources``         ``etl:resources``: resources the platform does not own, parsed from ARNs
- ``trigger_sources``   a trigger's ``etl:resources`` entry resolved per stack (kind, loops),
                        and the names other stacks need first (an eventbridge rule's ARN)
- ``deployment``        the alias ``live`` and the deployment preferences (one table
                        mapping catalog/stack keys to CodeDeploy's Lambda configurations)
- ``naming``            ``{resource-type}-{name}-{suffix}`` names checked against AWS limits
- ``tags``              the cost tags every taggable resource carries
- ``contract``          project names and the exports that link the three stacks
- ``runtimes``          every fact about a target runtime: language, version,
                        architectures, what the runtime provides
- ``runtime_calendar``  AWS's deprecation and block dates (``data/lambda_runtimes.json``)
- ``slo``               the pipeline SLOs: the watchdog and what the platform tells it
- ``stack_config``      the one reader of ``Pulumi.yaml`` / ``Pulumi.<stack>.yaml``
"""
