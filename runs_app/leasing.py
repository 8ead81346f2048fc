"""The watch beside a generating step: its lease, its progress, and the reasons it must stop.

While a provider generates, a side thread wakes every FLONIKS_STEP_WATCH_SECONDS and, in one
conditional UPDATE, renews the step's lease and stores the latest progress the provider reported
(so progress is written at a bounded rate however often the provider reports). When that UPDATE
finds the run ended (cancelled, or failed on another branch) or the step no longer this worker's,
or the step's timeout or the run's budget has run out, it marks the handle cancelled and calls the
provider's `cancel`, so the generator stops; the executor then reads `reason` to say why.

A step started ahead of its claim (runs_app.execution) is watched, and written, only once the
claim has come; if it does not, the generator is stopped (`not_kept`) and nothing is written."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection

from runs_app import transitions
from runs_app.generators import Provider, StepHandle

log = logging.getLogger(__name__)

CANCELLED = "cancelled"
NOT_KEPT = "not_kept"  # a step started ahead of its claim, which did not come
STEP_TIMEOUT = "step_timeout"
BUDGET_EXCEEDED = transitions.BUDGET_EXCEEDED
# How often a watch whose step started ahead looks whether the generation ended before the claim came.
CLAIM_POLL_SECONDS = 0.02


class StepWatch:
    def __init__(
        self,
        *,
        step_pk: int,
        worker: str,
        provider: Provider,
        handle: StepHandle,
        timeout_at: float,
        budget_at: float | None,
        claim: Future[bool] | None = None,
    ) -> None:
        """`timeout_at` and `budget_at` are time.monotonic() instants. With `claim`, the step was
        started ahead of its claim: nothing is written until it resolves true, and the generator is
        stopped if it resolves false."""
        self.step_pk, self.worker, self.provider, self.handle = step_pk, worker, provider, handle
        self.claim = claim
        self.timeout_at, self.budget_at = timeout_at, budget_at
        self._latest: tuple[float, str] | None = None
        self._written: tuple[float, str] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name=f"floniks-watch-{step_pk}")
        self._used_database = False

    def progress(self, fraction: float, message: str = "") -> None:
        """The provider's progress callback: remembered now, written by the next watch."""
        self._latest = (float(fraction), str(message))

    def __enter__(self) -> StepWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        interval = float(settings.FLONIKS_STEP_WATCH_SECONDS)
        try:
            if self.claim is not None and not self._claimed():
                return
            while not self._stop.wait(self._next_wait(interval)):
                if self._deadline_passed():
                    return
                if not self._renew():
                    self._stop_generator(CANCELLED)
                    return
        finally:
            if self._used_database:
                connection.close()

    def _claimed(self) -> bool:
        assert self.claim is not None
        while not self._stop.is_set() and not self._deadline_passed():
            try:
                ours = self.claim.result(timeout=CLAIM_POLL_SECONDS)
            except FutureTimeout:
                continue
            except Exception:  # the success before it was not written: neither is this step
                ours = False
            if not ours:
                self._stop_generator(NOT_KEPT)
            return ours
        return False

    def _next_wait(self, interval: float) -> float:
        soonest = min(t for t in (self.timeout_at, self.budget_at) if t is not None)
        return max(0.01, min(interval, soonest - time.monotonic()))

    def _deadline_passed(self) -> bool:
        now = time.monotonic()
        if self.budget_at is not None and now >= self.budget_at and self.budget_at <= self.timeout_at:
            self._stop_generator(BUDGET_EXCEEDED)
            return True
        if now >= self.timeout_at:
            self._stop_generator(STEP_TIMEOUT)
            return True
        return False

    def _renew(self) -> bool:
        latest = self._latest
        fresh = latest if latest != self._written else None
        self._used_database = True
        try:
            ours = transitions.watch_step(self.step_pk, self.worker, *(fresh or (None, "")))
        except DatabaseError:  # a blip must not end the watch: drop the connection, watch again
            log.warning("Could not renew the lease on step %s; trying again", self.step_pk, exc_info=True)
            connection.close_if_unusable_or_obsolete()
            return True
        if fresh is not None:
            self._written = fresh
        return ours

    def _stop_generator(self, reason: str) -> None:
        self.handle.mark_cancelled(reason)
        try:
            self.provider.cancel(self.handle)
        except Exception:  # the provider is told; if telling fails, the step's time limit still ends it
            log.warning("Provider could not cancel step %s", self.step_pk, exc_info=True)
