"""The Celery app: `config.celery:app`.

tenant-schemas-celery's CeleryApp stamps the current schema into every message and switches
to it before the task runs, so a task queued inside a tenant runs inside that tenant.
"""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = CeleryApp("learning_loop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

if os.environ.get("LL_DEV_SERVERS") == "1":
    # `make run` on a development container, where everything runs as root: Celery's
    # "running the worker with superuser privileges" warning on every start is not
    # something to act on there (production runs it as its own user: docs/deploy.md).
    import warnings

    from celery.exceptions import SecurityWarning

    warnings.filterwarnings("ignore", category=SecurityWarning)
