"""Imperative, thread-safe publishing (spec §12.2): ``publish``, ``publish_nowait``, ``publish_threadsafe``.

A mixin of ``SummonerClient``. Payloads are validated against ``model=`` and dumped here, in the
caller's thread, so a bad payload raises to its caller; send hooks and encoding run later on the client
loop, in the session's publisher. The queue itself (``outbox.PublishQueue``) outlives sessions.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, cast

from pydantic import BaseModel, TypeAdapter

from summoner_client.client._stats import ClientStats
from summoner_client.client.outbox import Pending, PublishQueue
from summoner_client.errors import ClientNotRunning, PublishQueueFull

__all__ = ["PublishingMixin"]


class PublishingMixin:
    """The publish methods; the client provides the queue, the counters and its loop thread."""

    _publish: PublishQueue
    _publish_models: dict[object, TypeAdapter[Any]]
    _stats: ClientStats
    _loop_thread: int | None

    def _prepare(self, payload: Any, model: object) -> Pending:
        if model is not None and not isinstance(payload, BaseModel):
            adapter = self._publish_models.get(model)
            if adapter is None:
                adapter = self._publish_models[model] = TypeAdapter(cast(Any, model))
            payload = adapter.validate_python(payload)  # a ValidationError is a ValueError
        if isinstance(payload, BaseModel):
            payload = payload.model_dump(mode="json")
        return Pending(payload)

    async def publish(self, payload: Any, *, model: object = None) -> None:
        """Queue ``payload`` for sending, waiting for room; on the client loop.

        Raises:
            ValueError: ``payload`` does not validate against ``model``.
            ClientNotRunning: No run is active and the queue is full.
        """
        item = self._prepare(payload, model)
        if self._publish.attached_loop is None:
            try:
                self._publish.put_nowait(item)
            except asyncio.QueueFull:
                raise ClientNotRunning("publish queue is full and no run is active to drain it") from None
        else:
            await self._publish.put(item)
        self._stats.published += 1

    def publish_nowait(self, payload: Any, *, model: object = None) -> None:
        """Queue ``payload`` without blocking; from any thread.

        Raises:
            PublishQueueFull: The queue is at ``max_publish_queue``.
        """
        try:
            self._publish.put_nowait(self._prepare(payload, model))
        except asyncio.QueueFull:
            raise PublishQueueFull(f"publish queue is full ({self._publish.maxsize})") from None
        self._stats.published += 1

    def publish_threadsafe(self, payload: Any, *, model: object = None, timeout: float | None = None) -> None:
        """Queue ``payload`` from another thread, blocking until there is room.

        Raises:
            RuntimeError: Called on the client loop's thread (blocking there would deadlock).
            PublishQueueFull: Still no room after ``timeout`` seconds.
            ClientNotRunning: No run is active and the queue is full.
        """
        item = self._prepare(payload, model)
        loop = self._publish.attached_loop
        if loop is not None and self._loop_thread == threading.get_ident():
            raise RuntimeError("publish_threadsafe() would block the client loop; use await publish()")
        if loop is None:
            try:
                self._publish.put_nowait(item)
            except asyncio.QueueFull:
                raise ClientNotRunning("publish queue is full and no run is active to drain it") from None
        else:
            future = asyncio.run_coroutine_threadsafe(self._publish.put(item), loop)
            try:
                future.result(timeout)
            except concurrent.futures.TimeoutError:
                future.cancel()
                raise PublishQueueFull(f"publish queue still full after {timeout}s") from None
        self._stats.published += 1
