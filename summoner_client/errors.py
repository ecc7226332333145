"""The package's whole exception tree.

Every exception raised on purpose is a :class:`SummonerError` *and* the built-in class the
original raised in the same situation, so existing ``except ValueError`` clauses and
``pytest.raises(TypeError)`` checks written against Summoner 1.3 keep working::

    SummonerError
    ├── ConfigError(ValueError)            .issues: list[ConfigIssue(path, message)]
    ├── RegistrationError(ValueError)      bad handler, duplicate route, unknown state
    │   ├── HandlerSignatureError(TypeError)   not async, wrong arity, rejected annotation
    │   ├── FlowStateError(RuntimeError)       a decorator needs the flow active first
    │   └── DnaError                       DNA that cannot be replayed: no source, an unresolvable name
    ├── FlowSyntaxError(ValueError)        .line .column .snippet: TRIGGERS text, tokens, routes
    ├── FlowTypeError(TypeError)           a flow object given a value of the wrong type
    ├── TriggersNotFoundError(FileNotFoundError)   .path: no TRIGGERS file where it was looked for
    ├── ProtocolError                      a line or envelope the protocol cannot accept
    │   ├── LineTooLongError               .size .limit
    │   ├── UnsupportedVersionError(ValueError)   .version: no envelope rules registered for it
    │   └── PayloadEncodeError(TypeError)  a payload with no JSON form (a dict key of an odd type)
    ├── ConnectionClosed(ConnectionError)  .reason
    │   └── ServerDisconnected             the original's name; raised at EOF
    ├── PublishQueueFull(asyncio.QueueFull)    publish outbox at its bound
    ├── ClientNotRunning(RuntimeError)     no run to drain the publish queue; submit to an unstarted thread
    ├── ServerLaunchError                  .address .cause
    ├── WouldBlockLoop(RuntimeError)       .call: a blocking wait on the loop's own thread (would deadlock)
    ├── HandleTimeout(TimeoutError)        .timeout: a thread handle's result not ready in time
    ├── HandleCancelled(concurrent.futures.CancelledError)   .call: a thread handle cancelled or dropped
    ├── SlotClosed(RuntimeError)           .name: submit to an AsyncSlot after close()
    ├── DnaTypeError(TypeError)            a DNA source or replay argument of the wrong type
    └── DnaKeyError(KeyError)              a ClientMerger source dict without a known key
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import NamedTuple

__all__ = [
    "ClientNotRunning",
    "ConfigError",
    "ConfigIssue",
    "ConnectionClosed",
    "DnaError",
    "DnaKeyError",
    "DnaTypeError",
    "FlowStateError",
    "FlowSyntaxError",
    "FlowTypeError",
    "HandleCancelled",
    "HandleTimeout",
    "HandlerSignatureError",
    "LineTooLongError",
    "PayloadEncodeError",
    "ProtocolError",
    "PublishQueueFull",
    "RegistrationError",
    "ServerDisconnected",
    "ServerLaunchError",
    "SlotClosed",
    "SummonerError",
    "TriggersNotFoundError",
    "UnsupportedVersionError",
    "WouldBlockLoop",
]


class SummonerError(Exception):
    """Root of every exception the package raises on purpose."""


class ConfigIssue(NamedTuple):
    """One problem found in a configuration: where it is and which rule failed."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(SummonerError, ValueError):
    """A configuration that cannot be used; ``issues`` lists every problem found, not just the first."""

    def __init__(self, issues: list[ConfigIssue] | ConfigIssue | str, *, source: str | None = None) -> None:
        if isinstance(issues, str):
            issues = [ConfigIssue("", issues)]
        elif isinstance(issues, ConfigIssue):
            issues = [issues]
        self.issues: list[ConfigIssue] = list(issues)
        self.source = source
        head = f"Invalid configuration in {source}" if source else "Invalid configuration"
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(f"{head} ({len(self.issues)} problem(s)):\n{lines}")


class RegistrationError(SummonerError, ValueError):
    """A decorator was misused; raised when the decorator is applied, never on the first message."""


class HandlerSignatureError(RegistrationError, TypeError):
    """A handler that is not async, takes the wrong arguments, or has a rejected annotation."""


class FlowStateError(RegistrationError, RuntimeError):
    """A registration that needs ``client.flow().activate()`` to have been called first."""


class FlowSyntaxError(SummonerError, ValueError):
    """Text of the flow DSL that cannot be parsed: a TRIGGERS line, a token or a route.

    ``line`` and ``column`` are 1-based where known; ``snippet`` is the offending text.
    """

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        snippet: str | None = None,
    ) -> None:
        self.line = line
        self.column = column
        self.snippet = snippet
        super().__init__(message)


class FlowTypeError(SummonerError, TypeError):
    """A flow object was handed a value of the wrong type (``accepts`` given a non-``Node``, ...)."""


class TriggersNotFoundError(SummonerError, FileNotFoundError):
    """No TRIGGERS file at the path ``load_triggers`` resolved."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"Could not find triggers file at {path}")


class ProtocolError(SummonerError):
    """A line or envelope the wire protocol cannot accept."""


class LineTooLongError(ProtocolError):
    """A line longer than the limit in force; the caller skips it and keeps the session."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"Line of {size} bytes exceeds the limit of {limit} bytes")


class UnsupportedVersionError(ProtocolError, ValueError):
    """An envelope version with no registered rules was asked for when *sending*."""

    def __init__(self, version: object) -> None:
        self.version = version
        super().__init__(f"Unsupported wrapper version: {version}")


class PayloadEncodeError(ProtocolError, TypeError):
    """A payload that has no JSON form under the envelope rules (for example a dict key of an odd type)."""


class ConnectionClosed(SummonerError, ConnectionError):
    """A session that ended; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class ServerDisconnected(ConnectionClosed):
    """The relay closed the connection (the original's name; raised with reason ``"EOF during read"``)."""


class PublishQueueFull(SummonerError, asyncio.QueueFull):
    """The publish queue is at its bound (``sender.max_publish_queue``)."""


class ClientNotRunning(SummonerError, RuntimeError):
    """A call that needs a running client: a publish that would wait with no run to drain the queue, or a
    submit to a ``ClientThread`` that was never started."""


class ServerLaunchError(SummonerError):
    """The relay could not start: no native module, or the address could not be bound."""

    def __init__(
        self, message: str, *, address: str | None = None, cause: BaseException | None = None
    ) -> None:
        self.address = address
        self.cause = cause
        super().__init__(message)


class WouldBlockLoop(SummonerError, RuntimeError):
    """A blocking wait called on the thread that runs the loop it waits for; it would never return."""

    def __init__(self, call: str) -> None:
        self.call = call
        super().__init__(
            f"{call} would block the event loop's own thread and deadlock; await the result instead"
        )


class HandleTimeout(SummonerError, TimeoutError):
    """A call submitted to a client thread had not finished within ``timeout`` seconds; it keeps running."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        super().__init__(f"the call did not finish within {timeout} s")


class HandleCancelled(SummonerError, concurrent.futures.CancelledError):
    """A call submitted to a client thread was cancelled, or dropped because the thread stopped."""

    def __init__(self, call: str) -> None:
        self.call = call
        super().__init__(f"{call} was cancelled")


class SlotClosed(SummonerError, RuntimeError):
    """``AsyncSlot.submit`` after ``close()``: the slot's thread and loop are gone."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"AsyncSlot {name!r} is closed; create a new slot")


class DnaError(RegistrationError):
    """A DNA entry that cannot be turned back into a handler; the message names the entry."""


class DnaTypeError(SummonerError, TypeError):
    """A DNA list, source or replay argument of the wrong type."""


class DnaKeyError(SummonerError, KeyError):
    """A ``ClientMerger`` source dict with none of ``client``, ``dna_list``, ``dna_path``."""

    def __str__(self) -> str:
        # KeyError's str() is the repr of its argument; a sentence reads better in a traceback.
        return str(self.args[0]) if self.args else ""
