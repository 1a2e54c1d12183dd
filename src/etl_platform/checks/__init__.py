"""What is verified before anything reaches AWS.

- ``offline``   runs a Pulumi program under Pulumi's public mock API, one child process each
- ``planned``   what an offline run produced (resources, exports), plain data
- ``plan``      ``nox -s plan``: the three programs in deploy order, and the guardrails
- ``rules``     the guardrail rules (also the policy pack's, see ``policy/``)
- ``aws_api``   would AWS accept a request? botocore's API models, offline
- ``iam_lint``  ``nox -s iam-lint``: parliament over every rendered IAM document
- ``docgen``    ``nox -s docs``: the generated parts of ``docs/``
"""
