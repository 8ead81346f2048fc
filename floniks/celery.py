"""The Celery application; configuration comes from Django settings (CELERY_*)."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "floniks.settings")

app = Celery("floniks")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _check_database_connections(**kwargs: Any) -> None:
    """As Django does before a request: drop a connection that is too old or broken (PostgreSQL restarted)."""
    from django.db import close_old_connections

    close_old_connections()
