"""One ComponentResource per concept; the projects' ``__main__.py`` files only wire them.

- ``shared``         the layer, one DLQ per function, the permissions boundary
- ``observability``  log groups, the alarm topic, alarms, the dashboard
- ``functions``      roles, functions, async config, triggers, the data bucket
"""
