"""The inbound pipeline of spec §5.2 for one decoded message: hooks, upload, receivers, download, bridge.

Pure runtime logic with no socket: the session's reader feeds it one payload at a time (or several at
once in the concurrent mode of §12.1). Every user callback is isolated here (spec §5.3): an exception is
logged with route and peer, counted, and the message goes on; only strict mode (§12.7) turns it fatal,
through the ``on_fatal`` callback the session passes in.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable
from typing import Any, Final, NamedTuple

from summoner_client.client._plan import BoundSender, DispatchPlan, PlanCache
from summoner_client.client._stats import ClientStats
from summoner_client.protocol.process import Event, ParsedRoute, StateTape, TapeActivation
from summoner_client.protocol.validation import handler_name

__all__ = ["NO_SNAPSHOT", "SNAPSHOT_FAILED", "BridgeItem", "InboundPipeline", "short_repr"]

NO_SNAPSHOT: Final = object()
"""``BridgeItem.snapshot`` when no snapshot sender reacts: the live data is all anyone needs."""
SNAPSHOT_FAILED: Final = object()
"""``BridgeItem.snapshot`` when ``deepcopy`` raised: snapshot senders skip the event."""
_REPR_LIMIT: Final = 200


def short_repr(value: object) -> str:
    """A payload as it may appear in ERROR logs: its ``repr``, cut to 200 characters (spec §9.1)."""
    text = repr(value)
    return text if len(text) <= _REPR_LIMIT else text[:_REPR_LIMIT] + "..."


class BridgeItem(NamedTuple):
    """One bridged event of a tick (spec §5.5); ``last`` marks the end of its tick."""

    priority: tuple[int, ...]
    key: str | None
    route: ParsedRoute
    event: Event
    snapshot: Any
    last: bool


def _peer(payload: Any) -> str:
    if isinstance(payload, dict):
        addr = payload.get("remote_addr")
        if isinstance(addr, str):
            return addr
    return "-"


class InboundPipeline:
    """Runs the pipeline for one message at a time; shared by every pipeline task of a session."""

    def __init__(
        self,
        *,
        plans: PlanCache,
        flow_in_use: Callable[[], bool],
        bridge: asyncio.Queue[BridgeItem],
        stats: ClientStats,
        logger: logging.Logger,
        on_fatal: Callable[[BaseException], None],
        strict: bool,
    ) -> None:
        self._plans = plans
        self._flow_in_use = flow_in_use
        self.bridge = bridge
        self._stats = stats
        self._logger = logger
        self._on_fatal = on_fatal
        self._strict = strict
        self.bridge_closed = False  # set when the dispatcher stopped: ticks are dropped, never waited on
        self._rejections: dict[str, float] = {}  # receiver route -> last DEBUG time for model rejections

    def _failed(self, exc: BaseException) -> None:
        if self._strict:
            self._on_fatal(exc)

    async def handle(self, payload: Any) -> None:
        """Run ``payload`` through the whole pipeline; never raises for user errors."""
        plan = self._plans.current()
        if plan.receive_hooks:
            payload = await self._run_hooks(plan, payload)
            if payload is None:
                self._stats.messages_dropped_by_hooks += 1
                return
        if not plan.registry.receiver_index:
            return  # the hooks did run [D-20]
        if plan.flow_active and self._flow_in_use():
            await self._run_flow(plan, payload)
        else:
            await self._run_plain(plan, payload)

    async def _run_hooks(self, plan: DispatchPlan, payload: Any) -> Any:
        for priority, hook in plan.receive_hooks:
            try:
                result = await hook(payload)
            except Exception as exc:
                self._stats.hook_errors += 1
                self._logger.exception(
                    "Receiving hook %s (priority=%s) failed on payload %s: %s",
                    handler_name(hook),
                    priority,
                    short_repr(payload),
                    exc,
                )
                self._failed(exc)
                continue  # the payload stays as it was and the chain goes on (spec §3.5)
            if result is None:
                return None
            payload = result
        return payload

    # ------------------------------------------------------------------ receivers

    async def _run_plain(self, plan: DispatchPlan, payload: Any) -> None:
        models = plan.registry.receive_models
        for _priority, receivers in plan.receiver_batches:
            if len(receivers) == 1:  # the common case costs one await, no gather
                key, receiver = receivers[0]
                await self._call(receiver.fn, key, payload, models.get(key))
            else:
                await asyncio.gather(
                    *(self._call(receiver.fn, key, payload, models.get(key)) for key, receiver in receivers)
                )

    async def _call(self, fn: Callable[[Any], Any], key: str, payload: Any, model: Any) -> Any:
        argument = payload
        if model is not None:
            argument = self._validate(model, key, payload)
            if argument is None:
                return None
        try:
            return await fn(argument)
        except BlockingIOError:
            self._logger.warning("Receiver function raised BlockingIOError; skipping.")
            return None
        except Exception as exc:
            self._stats.receiver_errors += 1
            self._logger.exception(
                "Receiver function %s raised an unexpected error: %s [route=%s, peer=%s]",
                handler_name(fn),
                exc,
                key,
                _peer(payload),
            )
            self._failed(exc)
            return None

    def _validate(self, model: Any, key: str, payload: Any) -> Any:
        # Relay dicts keep their envelope and get a model instance as content; anything else (a hook
        # may have unwrapped it) is validated whole (spec §12.3).
        relay = isinstance(payload, dict) and "remote_addr" in payload and "content" in payload
        try:
            if relay:
                return {
                    "remote_addr": payload["remote_addr"],
                    "content": model.validate_python(payload["content"]),
                }
            return model.validate_python(payload)
        except Exception as exc:  # pydantic.ValidationError and anything a validator raised
            self._stats.model_rejected += 1
            now = time.monotonic()
            if now - self._rejections.get(key, 0.0) >= 1.0:
                self._rejections[key] = now
                first = exc.errors()[0] if hasattr(exc, "errors") else exc
                self._logger.debug(
                    "Model rejected payload [route=%s, peer=%s]: %s", key, _peer(payload), first
                )
            return None

    # ------------------------------------------------------------------ flow

    async def _run_flow(self, plan: DispatchPlan, payload: Any) -> None:
        registry = plan.registry
        tape = await self._upload(registry.upload_states_fn, payload)
        if tape is None:
            return
        batches = tape.collect_activations(registry.receiver_index, registry.receiver_parsed_routes)
        if not batches:
            return
        tick: list[tuple[tuple[int, ...], TapeActivation, Event]] = []
        models = registry.receive_models
        for priority in sorted(batches):
            activations = batches[priority]
            calls = []
            for activation in activations:
                key = str(activation.route)
                calls.append(self._call(activation.fn, key, payload, models.get(key)))
            results = [await calls[0]] if len(calls) == 1 else await asyncio.gather(*calls)
            await self._download(registry.download_states_fn, tape, activations, results)
            tick.extend(
                (priority, activation, result)
                for activation, result in zip(activations, results, strict=True)
                if isinstance(result, Event)  # non-Event returns are never bridged [D-5]
            )
        if tick:
            await self._bridge_tick(plan, tick)

    async def _upload(self, upload: Callable[[Any], Any] | None, payload: Any) -> StateTape | None:
        if upload is None:
            return StateTape(None)
        try:
            return StateTape(await upload(payload))
        except Exception as exc:  # includes a string that is not a valid Node
            self._stats.state_errors += 1
            self._logger.exception("upload_states failed; message skipped [peer=%s]: %s", _peer(payload), exc)
            self._failed(exc)
            return None

    async def _download(
        self,
        download: Callable[[Any], Any] | None,
        tape: StateTape,
        activations: list[TapeActivation],
        results: list[Any],
    ) -> None:
        if download is None:
            return
        try:
            await download(tape.download_view(zip(activations, results, strict=True)))
        except Exception as exc:
            self._stats.state_errors += 1
            self._logger.exception("download_states failed: %s", exc)
            self._failed(exc)

    async def _bridge_tick(
        self, plan: DispatchPlan, tick: list[tuple[tuple[int, ...], TapeActivation, Event]]
    ) -> None:
        last = len(tick) - 1
        for index, (priority, activation, event) in enumerate(tick):
            if self.bridge_closed:
                return  # the session is ending: events in the bridge are dropped (spec §8.4)
            snapshot = self._snapshot(plan.reactive_for(activation.route), activation.route, event)
            await self.bridge.put(
                BridgeItem(priority, activation.key, activation.route, event, snapshot, index == last)
            )
            self._stats.events_bridged += 1

    def _snapshot(self, senders: list[BoundSender], route: ParsedRoute, event: Event) -> Any:
        # Copy once, and only when a snapshot sender will react to this event (spec §5.5, §5.12).
        if not any(
            item.sender.data_mode == "snapshot" and item.sender.responds_to(event) for item in senders
        ):
            return NO_SNAPSHOT
        try:
            return copy.deepcopy(event.data)
        except Exception as exc:
            self._logger.warning(
                "Failed to capture sender snapshot data for event on route '%s': %s: %s",
                route,
                type(exc).__name__,
                exc,
            )
            return SNAPSHOT_FAILED
