"""What every thread that owns an event loop does the same way: refuse self-deadlock, and wind down.

ARCHITECTURE §4: each thread runs one loop, and a blocking wait on the loop's own thread raises
instead of deadlocking. Both the slot and the client thread own a loop on a thread of their own,
so what they share lives here: :func:`refuse_blocking_on`, :func:`drain_loop`, and
:func:`require_factory`, since both take factories that are called later, on their own loop.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from typing import Any, Final

from summoner_client.errors import WouldBlockLoop

__all__ = ["DEFAULT_DRAIN_TIMEOUT", "drain_loop", "refuse_blocking_on", "require_factory"]

_log = logging.getLogger(__name__)

DEFAULT_DRAIN_TIMEOUT: Final = 5.0
"""Seconds the tasks left on a loop get to finish after being cancelled: the client's shutdown budget."""


def refuse_blocking_on(thread: threading.Thread | None, call: str) -> None:
    """Raise :class:`WouldBlockLoop` when called on ``thread``, the one that runs the loop being waited for.

    A blocking wait there would stop the very loop that has to produce the result, so the wait would
    never end. Failing loudly turns an intermittent hang into an error at the call site.
    """
    if thread is not None and thread.ident == threading.get_ident():
        raise WouldBlockLoop(call)


def require_factory(factory: Any, call: str) -> None:
    """Raise ``TypeError`` at once for a coroutine object passed where a factory belongs.

    ``submit(client.quit())`` instead of ``submit(client.quit)`` is the usual slip. Caught here, in the
    caller's thread, with the coroutine closed so it does not also warn that it was never awaited.
    """
    if inspect.iscoroutine(factory):
        factory.close()
        raise TypeError(f"{call} takes a factory that returns an awaitable, not a coroutine: drop the ()")
    if not callable(factory):
        raise TypeError(f"{call} takes a callable that returns an awaitable, got {type(factory).__name__}")


def drain_loop(loop: asyncio.AbstractEventLoop, *, timeout: float = DEFAULT_DRAIN_TIMEOUT) -> None:
    """Cancel what is left on a stopped ``loop``, await it within ``timeout``, then release its helpers.

    Run on the loop's own thread, after ``run_forever`` or ``run_until_complete`` returned and before
    ``loop.close()``. Every task gets its cancellation delivered and awaited, so none is destroyed while
    pending; async generators are finalised; the default executor's threads (``asyncio.to_thread``) are
    joined, so no thread outlives the loop that started it.
    """
    leftover = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in leftover:
        task.cancel()
    if leftover:
        loop.run_until_complete(asyncio.wait(leftover, timeout=timeout))
        stuck = sum(1 for task in leftover if not task.done())
        if stuck:
            _log.warning("%d task(s) ignored cancellation for %s s and were abandoned", stuck, timeout)
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())
