"""The registration surface of ``SummonerClient``: decorators, ``add_*`` and the registry's indexes.

What belongs here: the thin sugar of spec §3 over ``HandlerRegistry`` (each decorator calls
``check_route`` when the factory is called and one ``add_*`` when applied, then returns the function
unchanged), the spec's attribute names for the registry's objects (§1.2, §2.4), and binding (§3.8)
including extension coroutines. What does not: validation (``registry``) and running anything
(``client``, ``session``).

Thread rule: once the client runs, the loop reads the indexes on every message, so they change only
on the loop. A registration made from another thread during a run is validated in that thread (misuse
raises there, at once) and its change of the indexes is queued for the loop; the call returns without
waiting, so a thread the loop itself is waiting on can register without deadlock. Queued changes and
extension coroutines scheduled from other threads run on the loop one at a time, in the order they
were queued. An error that only binding can find (a replacement or an unparseable route in strict
mode) is then raised on the loop: it is logged, and in strict mode it ends the run (``_deferred_failed``).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, NamedTuple, TypeVar

from summoner_client.client.registry import HandlerRegistry, PendingRegistration
from summoner_client.logger import get_logger
from summoner_client.protocol.flow import Flow
from summoner_client.protocol.process import ParsedRoute, Receiver, Sender

__all__ = ["RegistrationSurface"]

F = TypeVar("F", bound=Callable[..., Any])
_NO_NAME = "<client:no-name>"


class _Change(NamedTuple):
    """A registry change queued for the loop (as opposed to an extension's coroutine)."""

    apply: Callable[[], None]


class RegistrationSurface:
    """Decorators and registry views; ``SummonerClient`` adds the runtime on top."""

    def __init__(self, name: str | None = None) -> None:
        # Constructors do no work [D-16]: no loop, no task, no thread.
        self.name: str = name if isinstance(name, str) else _NO_NAME
        self.logger = get_logger(self.name)
        self._flow = Flow()
        self._registry = HandlerRegistry(self._flow, self.logger)
        self._routes_lock: asyncio.Lock | None = None
        self._late_extensions: list[object] = []  # extension items met by a synchronous initialize()
        # Extension registrations scheduled after binding, and the task draining ``_deferred``; the run
        # awaits them before it returns.
        self._extension_tasks: set[asyncio.Task[Any]] = set()
        # Index changes (callables) and extension coroutines queued from other threads during a run,
        # in call order; only the loop takes from it. deque append/popleft are atomic.
        self._deferred: deque[object] = deque()
        self._drainer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None  # thread driving the loop while a run is active
        self._registry.commit = self._commit

    # ------------------------------------------------------------------ registry views (spec §1.2)

    def flow(self) -> Flow:
        """The client's flow, the same object on every call."""
        return self._flow

    @property
    def receiver_index(self) -> dict[str, Receiver]:
        """Bound receivers by route key; entries an extension inserts are honoured."""
        return self._registry.receiver_index

    @property
    def receiver_parsed_routes(self) -> dict[str, ParsedRoute]:
        """Parsed receiver routes by route key (flow active only)."""
        return self._registry.receiver_parsed_routes

    @property
    def sender_index(self) -> dict[str, list[Sender]]:
        """Bound senders by route key, in registration order."""
        return self._registry.sender_index

    @property
    def sender_parsed_routes(self) -> dict[str, ParsedRoute]:
        """Parsed sender routes by route key (flow active only)."""
        return self._registry.sender_parsed_routes

    @property
    def receiving_hooks(self) -> dict[tuple[Any, ...], Callable[..., Any]]:
        """Receive hooks by priority."""
        return self._registry.receiving_hooks

    @property
    def sending_hooks(self) -> dict[tuple[Any, ...], Callable[..., Any]]:
        """Send hooks by priority."""
        return self._registry.sending_hooks

    @property
    def _upload_states(self) -> Callable[..., Any] | None:
        return self._registry.upload_states_fn

    @property
    def _download_states(self) -> Callable[..., Any] | None:
        return self._registry.download_states_fn

    @property
    def _dna_receivers(self) -> list[dict[str, Any]]:
        return self._registry.dna_receivers

    @property
    def _dna_senders(self) -> list[dict[str, Any]]:
        return self._registry.dna_senders

    @property
    def _dna_hooks(self) -> list[dict[str, Any]]:
        return self._registry.dna_hooks

    @property
    def _dna_upload_states(self) -> list[dict[str, Any]]:
        return self._registry.dna_upload_states

    @property
    def _dna_download_states(self) -> list[dict[str, Any]]:
        return self._registry.dna_download_states

    @property
    def _registration_tasks(self) -> list[object]:
        return self._registry.pending

    @property
    def routes_lock(self) -> asyncio.Lock:
        """Held by the runtime while it binds registrations; extensions may take it too."""
        if self._routes_lock is None:
            self._routes_lock = asyncio.Lock()  # binds to the running loop on first use (3.10+)
        return self._routes_lock

    # ------------------------------------------------------------------ add_* (thread-aware)

    def _commit(self, change: Callable[[], None]) -> None:
        """Apply a validated registry change now, or queue it for the loop when another thread makes it
        during a run (see the module docstring); never blocks the calling thread."""
        loop, thread = self._loop, self._loop_thread
        if thread is None or loop is None or thread == threading.get_ident():
            change()
        else:
            self._defer(loop, _Change(change))

    def _defer(self, loop: asyncio.AbstractEventLoop, item: object) -> None:
        self._deferred.append(item)
        try:
            loop.call_soon_threadsafe(self._drain_deferred)
        except RuntimeError:  # the loop closed meanwhile: no run is left to apply it
            self._drain_deferred()

    def _drain_deferred(self) -> None:
        """Start the task that applies queued items, unless one is running (it will reach the new ones).

        On the loop while a run is active; anywhere once no run is (changes then apply at once and
        coroutines wait for the next run's binding).
        """
        if self._drainer is not None and not self._drainer.done():
            return
        if self._loop_thread is None or self._loop_thread != threading.get_ident():
            while self._deferred:
                item = self._deferred.popleft()
                if not isinstance(item, _Change):
                    self._late_extensions.append(item)
                    continue
                try:
                    item.apply()
                except Exception as exc:
                    self._deferred_failed(exc)
            return
        if self._deferred:
            task = self._drainer = asyncio.get_running_loop().create_task(self._apply_deferred())
            self._extension_tasks.add(task)
            task.add_done_callback(self._extension_tasks.discard)

    async def _apply_deferred(self) -> None:
        # One item at a time, in queue order: a change queued after a coroutine waits for it.
        while self._deferred:
            item = self._deferred.popleft()
            try:
                if isinstance(item, _Change):
                    item.apply()
                else:
                    await _settle(item)
            except Exception as exc:
                self._deferred_failed(exc)

    def _deferred_failed(self, exc: Exception) -> None:
        """A registration that ran on the loop after its caller returned (queued from another thread,
        or an extension's task) failed; the client also ends a strict run."""
        self.logger.error("Registration failed on the client loop: %s", exc, exc_info=exc)

    def add_upload_states(self, fn: Callable[..., Any], *, dna_source: str | None = None) -> None:
        """Register the ``upload_states`` callback (spec §3.3)."""
        self._registry.add_upload_states(fn, dna_source=dna_source)

    def add_download_states(self, fn: Callable[..., Any], *, dna_source: str | None = None) -> None:
        """Register the ``download_states`` callback (spec §3.4)."""
        self._registry.add_download_states(fn, dna_source=dna_source)

    def add_hook(
        self,
        fn: Callable[..., Any],
        direction: object,
        priority: object = (),
        *,
        dna_source: str | None = None,
    ) -> None:
        """Register a send or receive hook (spec §3.5)."""
        self._registry.add_hook(fn, direction, priority, dna_source=dna_source)

    def add_receive(
        self,
        fn: Callable[..., Any],
        route: object,
        priority: object = (),
        *,
        model: object = None,
        dna_source: str | None = None,
    ) -> None:
        """Register a receiver (spec §3.6)."""
        self._registry.add_receive(fn, route, priority, model=model, dna_source=dna_source)

    def add_send(  # noqa: PLR0917 - the original's positional order of send(...)
        self,
        fn: Callable[..., Any],
        route: object,
        multi: object = False,
        on_triggers: object = None,
        on_actions: object = None,
        use_data: object = False,
        data_mode: object = None,
        every: object = None,
        run_while: object = None,
        when_data: object = None,
        *,
        model: object = None,
        dna_source: str | None = None,
    ) -> str:
        """Register a sender (spec §3.7); return its registration id."""
        return self._registry.add_send(
            fn,
            route,
            multi,
            on_triggers,
            on_actions,
            use_data,
            data_mode,
            every,
            run_while,
            when_data,
            model=model,
            dna_source=dna_source,
        )

    # ------------------------------------------------------------------ decorators (spec §3)

    def upload_states(self) -> Callable[[F], F]:
        """Decorator: the callback whose return value becomes the state tape (flow active only)."""

        def decorator(fn: F) -> F:
            self.add_upload_states(fn)
            return fn

        return decorator

    def download_states(self) -> Callable[[F], F]:
        """Decorator: the callback that receives each priority batch's download view."""

        def decorator(fn: F) -> F:
            self.add_download_states(fn)
            return fn

        return decorator

    def hook(self, direction: object, priority: object = ()) -> Callable[[F], F]:
        """Decorator: a hook on every inbound or outgoing payload."""

        def decorator(fn: F) -> F:
            self.add_hook(fn, direction, priority)
            return fn

        return decorator

    def receive(self, route: object, priority: object = (), *, model: object = None) -> Callable[[F], F]:
        """Decorator: a receiver on ``route`` (checked now; bound at initialisation)."""
        checked = self._registry.check_route(route)

        def decorator(fn: F) -> F:
            self.add_receive(fn, checked, priority, model=model)
            return fn

        return decorator

    def send(  # noqa: PLR0917 - the original's positional order
        self,
        route: object,
        multi: object = False,
        on_triggers: object = None,
        on_actions: object = None,
        use_data: object = False,
        data_mode: object = None,
        every: object = None,
        run_while: object = None,
        when_data: object = None,
        *,
        model: object = None,
    ) -> Callable[[F], F]:
        """Decorator: a sender on ``route`` (checked now; bound at initialisation)."""
        checked = self._registry.check_route(route)

        def decorator(fn: F) -> F:
            self.add_send(
                fn,
                checked,
                multi,
                on_triggers,
                on_actions,
                use_data,
                data_mode,
                every,
                run_while,
                when_data,
                model=model,
            )
            return fn

        return decorator

    # ------------------------------------------------------------------ binding (spec §3.8)

    def initialize(self) -> None:
        """Compile arrow patterns (flow active) and bind pending registrations; ``run()`` calls it."""
        self._flow.compile_arrow_patterns()
        self._late_extensions.extend(self._registry.bind_pending())

    def _schedule_registration(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Queue an extension's registration coroutine, in order with the built-in ones.

        Before binding it is awaited at the binding point. Once bound, on the loop's thread during a
        run it starts as a task at once; from another thread it is queued behind that thread's earlier
        registrations and the call returns without waiting; with no run active it is awaited at the
        next run's binding.
        """
        if self._registry.queue_extension(coro):
            return
        loop, thread = self._loop, self._loop_thread
        if loop is None or thread is None or loop.is_closed():
            self._late_extensions.append(coro)
        elif thread == threading.get_ident():
            task = loop.create_task(coro)
            self._extension_tasks.add(task)
            task.add_done_callback(self._extension_tasks.discard)
        else:
            self._defer(loop, coro)

    async def _wait_for_registration(self) -> None:
        """Bind every pending registration in order, awaiting extension coroutines on the way."""
        async with self.routes_lock:
            late, self._late_extensions = self._late_extensions, []
            for item in late:
                await _settle(item)
            while (item := self._registry.next_pending()) is not None:
                if isinstance(item, PendingRegistration):
                    self._registry.bind(item)
                else:
                    await _settle(item)
            self._registry.refresh_tables()


async def _settle(item: object) -> None:
    if inspect.isawaitable(item):
        await item
