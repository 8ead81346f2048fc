"""A worker reconnecting to the broker right after one of its pool processes exited keeps running.

The race behind it is narrow (tests/test_faults.py provokes it with real workers, Redis outages
and killed pool processes, but cannot hit it every time), so this test builds the state the race
leaves: a pool process whose exit was noticed (its sentinel no longer watched) but that is still in
the pool when the reconnected worker registers every pool process with its new event loop."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest
from celery.concurrency.asynpool import AsynPool
from kombu.asynchronous import Hub

import floniks.celery  # noqa: F401  (the worker's app module; it applies the fix)


@pytest.fixture
def hub() -> Any:
    loop = Hub()
    yield loop
    loop.close()


def test_a_pool_process_that_just_exited_is_watched_again_instead_of_ending_the_worker(hub: Any) -> None:
    read_end, write_end = os.pipe()  # a process's sentinel: readable once the process has exited
    exited: list[Any] = []
    pool = SimpleNamespace(_event_process_exit=lambda loop, proc: exited.append(proc))
    proc = SimpleNamespace(_sentinel_poll=None, _popen=SimpleNamespace(sentinel=read_end))
    try:
        # What AsynPool.register_with_event_loop does for each pool process after a reconnect. Unfixed,
        # this raised ValueError('file descriptor is None') and the worker logged "Unrecoverable error".
        AsynPool._track_child_process(pool, proc, hub)

        watched = proc._sentinel_poll
        assert isinstance(watched, int) and watched != read_end
        callback, args = hub.readers[watched]
        os.close(write_end)  # the process is gone
        callback(*args)  # the event loop calls this when the sentinel is readable: the pool's usual upkeep
        assert exited == [proc]
    finally:
        for fd in (read_end, getattr(proc, "_sentinel_poll", None)):
            if isinstance(fd, int):
                hub.remove(fd)
                os.close(fd)


def test_a_pool_process_already_reaped_is_left_to_the_pools_upkeep(hub: Any) -> None:
    pool = SimpleNamespace(_event_process_exit=lambda loop, proc: None)
    proc = SimpleNamespace(_sentinel_poll=None, _popen=None)

    AsynPool._track_child_process(pool, proc, hub)

    assert not hub.readers


def test_losing_the_broker_with_unacknowledged_messages_does_not_end_the_worker(caplog: Any) -> None:
    """The connection was let go before its channel put back what it had not acknowledged: unfixed,
    kombu raised AttributeError('hostname') from restore_unacked and the worker died."""
    from kombu.transport.redis import QoS

    qos: Any = QoS.__new__(QoS)
    qos.channel = SimpleNamespace(connection=SimpleNamespace(client=None))
    qos._delivered = {"tag-1": object(), "tag-2": object()}
    assert qos.restore_unacked() is None
    assert qos._delivered == {} and "2 unacknowledged message(s) stay in Redis" in caplog.text


def test_a_message_of_a_let_go_connection_fails_as_a_connection_error() -> None:
    """After a reconnect, rejecting a message of the old channel (its pool process was killed) reached
    the let-go connection: unfixed, AttributeError('client') ended the worker; a connection error is
    one Celery's handlers log and survive."""
    from kombu.transport.redis import Channel, Transport

    channel: Any = Channel.__new__(Channel)
    channel.connection = None
    with pytest.raises(Transport.connection_errors):
        channel._connparams()
