"""Run the demo: an embedded relay, five agents on a thread each, a live transcript, a clean end.

Order matters, and each step is a function below: start the relay on a free loopback port, start
the agents, wait until the relay counts every one of them as a member (a line sent earlier would
reach only those already there), open the ``go`` gate the timed senders wait on, then let
``run_client_threads`` wait on the main thread until the time is up or Ctrl+C arrives, and stop
every agent and the relay whatever happened.

The transcript is written through the ``emit`` callable the caller passes in (the CLI passes
``click.echo``): library code never prints. Each agent gets a send hook and a receive hook that
report to a :class:`Transcript`, so what is printed is what the agents really sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from summoner_client.client import SummonerClient
from summoner_client.demo.agents import make_agents
from summoner_client.protocol import Direction
from summoner_client.server import RunningRelay, SummonerServer
from summoner_client.threads import ClientThread, run_client_threads, stop_all

__all__ = ["DEFAULT_SECONDS", "DemoReport", "Transcript", "run_demo", "summary_lines"]

DEFAULT_SECONDS: Final = 10.0
"""How long the demo runs: long enough for every agent to speak several times."""

_JOIN_TIMEOUT: Final = 10.0  # seconds for all agents to connect and join; a loaded CI box needs a few
_JOIN_POLL: Final = 0.02  # seconds between two looks at the relay's member count while joining
_RELAY_STOP_TIMEOUT: Final = 10.0  # the relay's drain deadline (5 s by default) twice over
# WARNING, not the client default DEBUG: the transcript is the demo's output, and lifecycle lines
# ("Connected to server ...") would drown it. Warnings and errors still show.
_CLIENT_CONFIG: Final[dict[str, Any]] = {"logger": {"log_level": "WARNING"}}
_RELAY_LOGGER: Final[dict[str, Any]] = {"log_level": "WARNING"}


@dataclass
class DemoReport:
    """What happened: per-agent counts from the hooks, the relay's own counters, and any failure."""

    relay: str
    seconds: float = 0.0
    interrupted: bool = False
    sent: dict[str, int] = field(default_factory=dict)
    received: dict[str, int] = field(default_factory=dict)
    relay_lines: int = 0
    relay_deliveries: int = 0
    errors: list[str] = field(default_factory=list)


class Transcript:
    """Turns what agents send into readable lines, and counts messages per agent.

    Called from every agent's thread; one lock keeps lines whole and counts exact.
    """

    def __init__(self, names: list[str], emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self.sent = dict.fromkeys(names, 0)
        self.received = dict.fromkeys(names, 0)

    def begin(self) -> None:
        """Start the clock the transcript's timestamps count from."""
        self._started = time.monotonic()

    def on_sent(self, agent: str, payload: Any) -> None:
        """One line per message: time, sender, recipient, text."""
        if not isinstance(payload, dict):
            return
        elapsed = time.monotonic() - self._started
        line = f"{elapsed:6.2f}s  {agent:<9} -> {payload.get('to', '?')!s:<9} {payload.get('text', payload)}"
        with self._lock:
            self.sent[agent] = self.sent.get(agent, 0) + 1
            self._emit(line)

    def on_received(self, agent: str, payload: Any) -> None:
        """Count a message from another demo agent; relay notices and stray lines are not counted."""
        content = payload.get("content") if isinstance(payload, dict) else None
        if isinstance(content, dict) and "from" in content:
            with self._lock:
                self.received[agent] = self.received.get(agent, 0) + 1

    def watch(self, agent: SummonerClient) -> None:
        """Hook ``agent`` so that what it sends and receives reaches this transcript unchanged."""
        name = agent.name

        @agent.hook(Direction.SEND)
        async def note_sent(payload: Any) -> Any:
            self.on_sent(name, payload)
            return payload

        @agent.hook(Direction.RECEIVE)
        async def note_received(payload: Any) -> Any:
            self.on_received(name, payload)
            return payload


def run_demo(
    seconds: float = DEFAULT_SECONDS, *, python_relay: bool = False, emit: Callable[[str], None]
) -> DemoReport:
    """Run the demo for ``seconds`` (or until Ctrl+C) and report; must be called on the main thread.

    Args:
        seconds: How long the agents talk once all of them have joined.
        python_relay: Use the asyncio relay instead of the native one.
        emit: Called with each line of the live transcript, from the agents' threads.

    Raises:
        ServerLaunchError: The relay cannot start (no native module, no free port).
        TimeoutError: The agents did not all join within 10 s.
        RuntimeError: Not called on the main thread (``run_client_threads`` needs the signals).
    """
    go = threading.Event()
    agents = make_agents(go)
    transcript = Transcript([agent.name for agent in agents], emit)
    for agent in agents:
        transcript.watch(agent)
    relay_config: dict[str, Any] = {"logger": _RELAY_LOGGER}
    if python_relay:
        relay_config["version"] = "python"
    relay = SummonerServer("demo-relay").start(host="127.0.0.1", port=0, config_dict=relay_config)
    report = DemoReport(relay=f"{'python' if python_relay else 'native'} relay on {relay.host}:{relay.port}")
    emit(f"summoner demo: {report.relay}, agents {', '.join(a.name for a in agents)}")
    threads: list[ClientThread] = []
    started = time.monotonic()
    try:
        threads = [
            agent.start_in_thread(relay.host, relay.port, config_dict=_CLIENT_CONFIG) for agent in agents
        ]
        _wait_until_joined(relay, threads)
        emit(f"all {len(agents)} agents joined; talking for {seconds:g} s (Ctrl+C stops earlier)")
        transcript.begin()
        started = time.monotonic()
        go.set()
        report.interrupted = _talk(threads, seconds)
    finally:
        stop_all(threads)
        report.seconds = time.monotonic() - started
        _stop_relay(relay, report)
    report.sent, report.received = dict(transcript.sent), dict(transcript.received)
    report.errors.extend(f"{t.client.name}: {t.thread_error}" for t in threads if t.thread_error is not None)
    return report


def _wait_until_joined(relay: RunningRelay, threads: list[ClientThread]) -> None:
    deadline = time.monotonic() + _JOIN_TIMEOUT
    for thread in threads:
        if not thread.wait_started(max(0.0, deadline - time.monotonic())):
            raise TimeoutError(f"agent {thread.client.name!r} did not connect within {_JOIN_TIMEOUT:g} s")
    # Connected is not yet joined: the relay admits a connection a moment after the client's
    # connect() returns. Its member count is the one source of truth, so wait for it.
    while relay.stats().get("members", 0) < len(threads):
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the relay did not admit all {len(threads)} agents within {_JOIN_TIMEOUT:g} s"
            )
        time.sleep(_JOIN_POLL)


def _talk(threads: list[ClientThread], seconds: float) -> bool:
    """Let the agents talk; True if a signal (Ctrl+C, SIGTERM) ended it before the time was up."""

    def time_is_up() -> None:
        for thread in threads:
            thread.request_stop()  # every thread exits, so run_client_threads returns on its own

    timer = threading.Timer(seconds, time_is_up)
    timer.daemon = True
    timer.start()
    try:
        return run_client_threads(threads) is not None
    finally:
        timer.cancel()


def _stop_relay(relay: RunningRelay, report: DemoReport) -> None:
    stats = relay.stats()
    report.relay_lines = stats.get("lines_received_total", 0)
    report.relay_deliveries = stats.get("deliveries_total", 0)
    try:
        relay.stop(timeout=_RELAY_STOP_TIMEOUT)
    except Exception as exc:  # reported, not raised: the demo itself has finished by now
        report.errors.append(f"relay: {exc}")


def summary_lines(report: DemoReport) -> list[str]:
    """The closing summary: how it ended, then messages sent and received per agent."""
    how = "interrupted" if report.interrupted else "done"
    lines = [
        f"{how} after {report.seconds:.1f} s: the {report.relay} took {report.relay_lines} lines "
        f"and delivered {report.relay_deliveries}",
        f"  {'agent':<10}{'sent':>6}{'received':>10}",
    ]
    lines.extend(
        f"  {name:<10}{count:>6}{report.received.get(name, 0):>10}" for name, count in report.sent.items()
    )
    lines.extend(f"error: {error}" for error in report.errors)
    return lines
