"""``SendInvocation`` and the ``when_data`` filter: what the dispatcher, the scheduler and the workers share.

Kept apart from ``senders`` so the timed scheduler can build invocations without importing the worker
pool that imports it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from dataclasses import dataclass, field
from typing import Any

from summoner_client.client._plan import BoundSender

__all__ = ["SendInvocation", "passes_when_data"]


@dataclass(slots=True)
class SendInvocation:
    """One call of a sender function waiting in ``send_queue``.

    Attributes:
        bound: The sender and its route key.
        data: The data passed to a ``use_data`` sender (ignored otherwise).
        done: Resolved with True when the invocation produced lines, False otherwise, once its lines
            are in the outbox; plain loops and the scheduler wait on it. None when nobody waits.
    """

    bound: BoundSender
    data: Any = None
    done: asyncio.Future[bool] | None = field(default=None, repr=False)


def passes_when_data(bound: BoundSender, data: Any, logger: logging.Logger) -> bool:
    """Apply a sender's synchronous ``when_data`` filter; failures drop the item with a WARNING."""
    predicate = bound.sender.when_data
    if predicate is None:
        return True
    try:
        result = predicate(data)
    except Exception as exc:
        logger.warning(
            "when_data predicate failed for '%s' on route '%s': %s: %s",
            bound.name,
            bound.route,
            type(exc).__name__,
            exc,
        )
        return False
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()  # never awaited: closing it avoids a "never awaited" RuntimeWarning
        logger.warning(
            "when_data predicate failed for '%s' on route '%s': returned an awaitable; "
            "async when_data is not supported",
            bound.name,
            bound.route,
        )
        return False
    return bool(result)
