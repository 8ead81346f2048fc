"""The Celery application; configuration comes from Django settings (CELERY_*)."""

import logging
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

        self.thread = SweepThread(name=str(getattr(parent, "hostname", "") or ""), queues=_queues(parent)).start()

    def stop(self, parent: Any) -> None:
        if self.thread is not None:
            self.thread.stop()


def _queues(parent: Any) -> list[str]:
    """The queues this worker consumes (its -Q), for its heartbeat."""
    try:
        queues = parent.app.amqp.queues
        return sorted(queues.consume_from or queues)
    except Exception:  # a heartbeat without queues still says the worker is alive
        return []


app.steps["worker"].add(SweepBesideThePool)


def _retrack_untracked_pool_processes() -> None:
    """Keep a worker alive when a pool process died shortly before the broker connection came back.

    When a pool process exits, Celery's prefork pool stops watching its sentinel (``_sentinel_poll``
    becomes None), and it can stay in the pool until a later upkeep. If the broker connection is
    re-established in between (seen when Redis went away again during the reconnect's start-up, just
    as a step's process was killed, recycled by --max-memory-per-child or cut by a time limit), the pool
    registers every process with the new event loop again, passes that None on as a file descriptor,
    and the worker dies:
    ``CRITICAL Unrecoverable error: ValueError('file descriptor is None')`` (kombu 5.7 raises ValueError
    for it, Celery 5.7 only tolerates OSError and AttributeError there; with Celery 5.6/kombu 5.6 it is
    the AttributeError of celery/celery#9250, tolerated by neither). No released pair avoids it, so watch
    such a process afresh: if it has exited, its sentinel is readable at once and the pool's usual upkeep
    removes it and starts a replacement. The race is rare (one crash in about 100 Redis outages with pool
    processes being killed); tests/test_worker_reconnect.py builds the state it leaves. Remove this once
    Celery's ``iterate_file_descriptors_safely`` also catches ValueError.
    """
    from celery.concurrency import asynpool

    pool_class: Any = asynpool.AsynPool  # the method is private: not in the type stubs
    track = pool_class._track_child_process
    if getattr(track, "_floniks_retrack", False):
        return

    def track_child_process(self: Any, proc: Any, hub: Any) -> None:
        if getattr(proc, "_sentinel_poll", 0) is None:
            logging.getLogger(__name__).warning(
                "Pool process %s exited just before the broker connection came back; watching it again",
                getattr(proc, "pid", "?"),
            )
            del proc._sentinel_poll  # so Celery duplicates the sentinel again
            popen = getattr(proc, "_popen", None)
            if popen is None or getattr(popen, "sentinel", None) is None:
                return  # already reaped: the next upkeep removes it from the pool
        try:
            track(self, proc, hub)
        except OSError:  # its sentinel is closed already: the same
            return

    track_child_process._floniks_retrack = True  # type: ignore[attr-defined]
    pool_class._track_child_process = track_child_process


_retrack_untracked_pool_processes()


def _let_go_of_unacked_when_the_connection_is_gone() -> None:
    """Keep a worker alive when the broker connection is lost while messages are unacknowledged.

    On a lost Redis connection Celery closes the connection, the channel then tries to put its
    unacknowledged messages back, and if the transport's client has already been let go kombu 5.7
    dereferences it: ``AttributeError: 'NoneType' object has no attribute 'hostname'`` in
    ``restore_unacked``, which is not a connection error, so the worker ends with "Unrecoverable
    error" (as in celery/kombu#582; seen in our chaos runs). Nothing is lost by skipping the restore
    then: the messages stay in Redis's unacked index, whence kombu restores them after the visibility
    timeout, and the RunStep rows are the truth anyway (the sweep sends again any step whose lease
    expires). tests/test_worker_reconnect.py builds that state. Remove once kombu guards it."""
    from kombu.transport import redis as kombu_redis
    from redis import exceptions as redis_errors

    qos_class: Any = kombu_redis.QoS
    restore = qos_class.restore_unacked
    if getattr(restore, "_floniks_guarded", False):
        return

    def restore_unacked(self: Any, client: Any = None) -> Any:
        connection = getattr(self.channel, "connection", None)
        if client is None and (connection is None or getattr(connection, "client", None) is None):
            logging.getLogger(__name__).warning(
                "The broker connection is gone: %d unacknowledged message(s) stay in Redis's unacked index "
                "until the visibility timeout restores them",
                len(self._delivered),
            )
            self._delivered.clear()
            return None
        return restore(self, client)

    restore_unacked._floniks_guarded = True  # type: ignore[attr-defined]
    qos_class.restore_unacked = restore_unacked

    # The same let-go connection reached another way: a message of the old channel acknowledged or
    # rejected (a pool process was killed) after the reconnect. Say it as the connection error it is,
    # which Celery's handlers log and survive, instead of an AttributeError that ends the worker.
    channel_class: Any = kombu_redis.Channel
    connparams = channel_class._connparams

    def _connparams(self: Any, asynchronous: bool = False) -> Any:
        if getattr(self, "connection", None) is None or getattr(self.connection, "client", None) is None:
            raise redis_errors.ConnectionError("This channel's broker connection was let go (it was lost).")
        return connparams(self, asynchronous=asynchronous)

    channel_class._connparams = _connparams


_let_go_of_unacked_when_the_connection_is_gone()
