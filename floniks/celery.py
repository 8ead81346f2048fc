"""The Celery application; configuration comes from Django settings (CELERY_*)."""

import os
from typing import Any

from celery import Celery, bootsteps
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


class SweepBesideThePool(bootsteps.StartStopStep):
    """Every worker sweeps on a thread of its main process (runs_app.sweep), never from a queue,
    so recovering a dead worker's step never waits behind the backlog."""

    requires = ("celery.worker.components:Pool",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.thread: Any = None

    def start(self, parent: Any) -> None:
        from runs_app.sweep import SweepThread

        self.thread = SweepThread().start()

    def stop(self, parent: Any) -> None:
        if self.thread is not None:
            self.thread.stop()


app.steps["worker"].add(SweepBesideThePool)
