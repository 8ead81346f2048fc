"""A worker process's hand-over: what is left of a task once nothing more runs in it.

A step that no other step waits for (a run's last step, the end of a branch) gives its task nothing
to run next, so its task need not wait for its success to be written. The executor hands that write
(the step's success, the run's end or the steps it released, a reproduction's verdict) and the wait
for the output's thumbnail over, and the task returns: the process takes its next message while
they are written, instead of one after the other.

Where it is written: a pool process forks a companion process when it starts (`start_companion`,
before it has threads or connections) and hands jobs to it, pickled; anywhere else (a solo pool,
tests, a companion that died) a thread of the process writes them. Writing a success is a few
milliseconds of Python (the ORM, storage, the thumbnail); on a thread it holds the GIL that a
generator working in NumPy between its own Python needs back at every call, which slowed built-in
generation by 7–9 % (bench/p1_orchestration.py); a companion shares no GIL.

Bounded: one job is written while at most `WAITING` more wait (a step's success, the claim and the
read ahead of the next); a task handing over one more waits for room. A process that leaves
(shutdown, recycling) writes what it holds first. A process killed before writing has changed
nothing: the step is still `running` under its lease, which lapses, and the sweep sends it again
(generated again, its output is the same bytes, stored once); a companion whose process was killed writes what it holds, then ends."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import pickle
import queue
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any, Protocol

from django.db import close_old_connections, connection, connections

log = logging.getLogger(__name__)

Job = Callable[[], Any]
# A worker's hand-over holds a task's claims and reads ahead (small) besides its successes (each
# holding an output): room for a success and those of the step after it, and no more.
WAITING = 3


@dataclass(frozen=True)
class Answer:
    """What a job returns to answer its caller before it is over: `value` goes back at once, then
    `rest` runs (waiting for a thumbnail), before the next job."""

    value: Any
    rest: Callable[[], object]


def _answered(result: Any, reply: Callable[[Any], object]) -> None:
    if not isinstance(result, Answer):
        reply(result)
        return
    reply(result.value)
    try:
        result.rest()
    except Exception:  # the caller has its answer: what is left only loses a thumbnail
        log.warning("A handed-over job failed after it answered", exc_info=True)


class HandsOver(Protocol):
    def submit(self, job: Job) -> Future[Any]: ...


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
                result = job()
            except Exception as exc:
                # Nothing to retry here: the step's lease lapses and the sweep sends it again.
                log.exception("A handed-over step could not be written; the sweep will send it again")
                connection.close()
                future.set_exception(exc)
            else:
                _answered(result, future.set_result)
            finally:
                jobs.task_done()


class Companion:
    """A companion process forked by a pool process to write what it hands over (jobs are pickled:
    a module-level function and model instances, never a closure)."""

    def __init__(self, waiting: int = 1) -> None:
        ours, theirs = Pipe()
        pid = os.fork()
        if pid == 0:  # the companion: never returns into the pool process's code
            ours.close()
            _serve(theirs)
        theirs.close()
        self.pid, self._conn = pid, ours
        self._room = threading.BoundedSemaphore(waiting + 1)  # one being written, `waiting` more
        self._lock = threading.Lock()
        self._pending: dict[int, Future[Any]] = {}
        self._ids = itertools.count()
        self.alive = True
        self._reader = threading.Thread(target=self._read, daemon=True, name="floniks-handover-reader")
        self._reader.start()

    def submit(self, job: Job) -> Future[Any]:
        job_id = next(self._ids)
        # A header and the pickled job, pickled once (an unpicklable job raises here: nothing is sent).
        message = job_id.to_bytes(8, "big") + pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        self._room.acquire()
        future: Future[Any] = Future()
        with self._lock:
            if not self.alive:
                self._room.release()
                raise CompanionGone
            self._pending[job_id] = future
            try:
                self._conn.send_bytes(message)
            except OSError:
                del self._pending[job_id]
                self._room.release()
                raise CompanionGone from None
        return future

    def drain(self) -> None:
        with self._lock:
            pending = list(self._pending.values())
        for future in pending:
            future.exception()

    def stop(self) -> None:
        """Write what was handed over, then end the companion."""
        with self._lock:
            if self.alive:
                with contextlib.suppress(OSError):
                    self._conn.send_bytes(b"")  # the end
        self._reader.join()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)

    def _read(self) -> None:
        while True:
            try:
                job_id, ok, value = pickle.loads(self._conn.recv_bytes())
            except (EOFError, OSError):
                break
            with self._lock:
                future = self._pending.pop(job_id)
            self._room.release()
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        with self._lock:
            self.alive = False
            lost, self._pending = list(self._pending.values()), {}
        for future in lost:
            self._room.release()
            future.set_exception(CompanionGone("the hand-over process ended before writing this"))
        self._conn.close()


class CompanionGone(RuntimeError):
    """The companion process is gone: hand over to the thread instead."""


def _serve(conn: Connection) -> None:
    """The companion's life: run each job it is sent, in order, and answer; end when told or when
    its pool process is gone (the pipe closes)."""
    status = 0
    try:
        _forget_inherited_connections()
        # Ctrl-C stops the worker; the companion ends with its pool process, after what it holds.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for signum in (signal.SIGTERM, signal.SIGUSR1, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        while True:
            try:
                message = conn.recv_bytes()
            except (EOFError, OSError):
                break
            if not message:
                break
            job_id, payload = int.from_bytes(message[:8], "big"), message[8:]
            ok, result = _run(payload)

            def reply(value: Any, job_id: int = job_id, ok: bool = ok) -> None:
                conn.send_bytes(pickle.dumps((job_id, ok, value), protocol=pickle.HIGHEST_PROTOCOL))

            _answered(result, reply)
        connection.close()
    except BaseException:  # nothing may escape into the pool process's code, which this process also holds
        log.exception("The hand-over process failed")
        status = 1
    finally:
        os._exit(status)


def _run(payload: bytes) -> tuple[bool, Any]:
    try:
        close_old_connections()  # as before a task: PostgreSQL may have restarted since the last write
        return True, pickle.loads(payload)()
    except Exception as exc:
        log.exception("A handed-over step could not be written; the sweep will send it again")
        connection.close()
        try:
            pickle.dumps(exc)
        except Exception:  # a driver's error that does not pickle: its text does
            exc = RuntimeError(f"{exc.__class__.__name__}: {exc}")
        return False, exc


_INHERITED: list[Any] = []


def _forget_inherited_connections() -> None:
    """Database connections copied from the pool process are its: closing them here would end them
    there too (a terminate message on the shared socket). Keep them, unused and never finalised;
    this process opens its own."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None:
            _INHERITED.append(conn.connection)
            conn.connection = None


class WorkerHandOver:
    """A worker process's hand-over: its companion process when it forked one, else its thread."""

    def __init__(self) -> None:
        self._thread = HandOver(waiting=WAITING)
        self._companion: Companion | None = None
        self._owner = 0

    def start_companion(self) -> None:
        """Fork the companion: call where the process has no threads and no open connections yet."""
        self._companion, self._owner = Companion(waiting=WAITING), os.getpid()

    def _ours(self) -> Companion | None:
        """The companion this very process forked (a process forked from this one has none)."""
        return self._companion if self._owner == os.getpid() else None

    def submit(self, job: Job) -> Future[Any]:
        companion = self._ours()
        if companion is not None and companion.alive:
            try:
                return companion.submit(job)
            except CompanionGone:
                log.warning("The hand-over process is gone; writing on a thread")
            except (pickle.PicklingError, TypeError, AttributeError):
                log.warning("A job that cannot be pickled is written on a thread", exc_info=True)
        return self._thread.submit(job)

    def drain(self) -> None:
        companion = self._ours()
        if companion is not None:
            companion.drain()
        self._thread.drain()

    def stop(self) -> None:
        companion = self._ours()
        if companion is not None:
            companion.stop()
        self._thread.stop()


def run_here(job: Job) -> Future[Any]:
    """Run `job` now, on this thread, as a hand-over would (without one: tests, `run_inline`);
    what it raises is raised here."""
    future: Future[Any] = Future()
    _answered(job(), future.set_result)
    return future


HAND_OVER = WorkerHandOver()
