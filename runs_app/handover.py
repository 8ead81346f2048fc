"""A worker process's hand-over thread: what is left of a task once nothing more runs in it.

A step that no other step waits for (a run's last step, the end of a branch) gives its task nothing
to run next, so its task need not wait for its success to be written. The executor hands that write
(the step's success, the run's end or the steps it released, a reproduction's verdict) and the wait
for the output's thumbnail to this thread, and the task returns: the process takes its next message
while they are written, instead of one after the other.

Bounded: one hand-over is written while at most one more waits; a task handing over a third waits
for room. A process that leaves (shutdown, recycling) writes what it holds first. A process killed
before writing has changed nothing: the step is still `running` under its lease, which lapses, and
the sweep sends it again (generated again, its output is the same bytes, stored once)."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from django.db import close_old_connections, connection

log = logging.getLogger(__name__)

Job = Callable[[], Any]


def _STOP() -> None:
    """Handed over by `stop`: the thread ends."""


class HandOver:
    def __init__(self, waiting: int = 1) -> None:
        self._jobs: queue.Queue[tuple[Job, Future[Any]]] = queue.Queue(maxsize=waiting)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def submit(self, job: Job) -> Future[Any]:
        """Run `job` on the hand-over thread; blocks while the thread has its fill. The future
        holds what it returned, or what it raised."""
        self._ensure_thread()
        future: Future[Any] = Future()
        self._jobs.put((job, future))
        return future

    def drain(self) -> None:
        """Return once everything handed over is written."""
        if self._thread is not None and self._pid == os.getpid():
            self._jobs.join()

    def stop(self) -> None:
        """Write what was handed over, then end the thread and close its database connection."""
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            self._jobs.put((_STOP, Future()))
            self._thread.join()

    def _ensure_thread(self) -> None:
        with self._lock:
            # A pool process forked from a parent that had the thread has no thread of its own yet.
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._jobs = queue.Queue(maxsize=self._jobs.maxsize)
                self._thread = threading.Thread(target=self._loop, daemon=True, name="floniks-handover")
                self._pid = os.getpid()
                self._thread.start()

    def _loop(self) -> None:
        jobs = self._jobs
        while True:
            job, future = jobs.get()
            if job is _STOP:
                connection.close()
                jobs.task_done()
                return
            try:
                close_old_connections()  # as before a task: PostgreSQL may have restarted since the last write
                future.set_result(job())
            except Exception as exc:
                # Nothing to retry here: the step's lease lapses and the sweep sends it again.
                log.exception("A handed-over step could not be written; the sweep will send it again")
                connection.close()
                future.set_exception(exc)
            finally:
                jobs.task_done()


def run_here(job: Job) -> Future[Any]:
    """Run `job` now, on this thread, as a hand-over would (without one: tests, `run_inline`);
    what it raises is raised here."""
    future: Future[Any] = Future()
    future.set_result(job())
    return future


HAND_OVER = HandOver()
