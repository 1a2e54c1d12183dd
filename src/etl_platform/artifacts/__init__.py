"""What gets uploaded to Lambda, built deterministically and checked for the target.

- ``packaging``    byte-identical function and layer zips
- ``wheels``       the Python layer's wheels, for the target platform and Python version
- ``bytecode``     deterministic ``.pyc`` compiled by the target's own Python
- ``layers``       the platform's layers, one per language
- ``node_layer``   the Node.js layer (``nodejs/node_modules`` from ``npm ci``)
- ``nodejs``       the build machine's node/npm and our npm tooling (``tools/node``)
- ``problems``     the findings every checker reports: Problem, SdkCall (a leaf module)
- ``sdk_actions``  the IAM actions of an AWS API operation, from botocore's models (a leaf)
- ``sdk_calls``    the SDK calls a function's code makes, against its declared ``[needs]``
- ``compat``       ``nox -s compat``: the code and the layers against the target runtime
- ``node_compat``  the Node.js checks (acorn): aws-sdk v2, callbacks, imports, removed APIs
"""
