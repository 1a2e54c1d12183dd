"""The infrastructure: Pulumi components and the IAM documents they attach.

- ``components``       one ComponentResource per concept (see its ``__init__``)
- ``iam``              shared IAM facts (service principals, action sets) and builders
- ``function_policy``  a function's least-privilege policy, derived from its ``needs``
"""
