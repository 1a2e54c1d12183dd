"""One ComponentResource per concept; the projects' ``__main__.py`` files only wire them.

- ``shared``         the layers, one DLQ per function (projects/shared)
- ``boundary``       the permissions boundary (projects/shared)
- ``observability``  log groups and the alarm topic (projects/observability)
- ``alarms``         the threshold table ``ALARM_RULES`` and the alarms built from it
- ``dashboard``      the ``etl-<suffix>`` dashboard built from the catalog
- ``functions``      roles, functions, async config, triggers (projects/etl-functions)
- ``bucket``         the data bucket
- ``deployment``     CodeDeploy: the application, its service role, a deployment group
                     per function rolling back on the function's alarms
"""
