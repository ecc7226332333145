"""The pure reconnection schedule of spec §8.6: stages, counters and the exact log texts."""

from __future__ import annotations

from summoner_client.client._connect import AuthRejected
from summoner_client.client.reconnect import ReconnectPolicy, ReconnectSchedule, Stage, Verdict


def schedule(primary: int | None = 3, default: int | None = 2, delay: float = 3) -> ReconnectSchedule:
    return ReconnectSchedule(ReconnectPolicy(delay, primary, default, "fallback.example", 9999))


def test_primary_attempts_then_fallback_then_give_up() -> None:
    plan = schedule()
    verdicts = []
    for _ in range(5):
        plan.failed(ConnectionRefusedError("refused"))
        verdicts.append(plan.after_sleep())
    assert verdicts == [Verdict.RETRY, Verdict.RETRY, Verdict.FALLBACK, Verdict.RETRY, Verdict.GIVE_UP]
    assert plan.stage is Stage.DEFAULT


def test_retry_line_wording_and_delay_as_configured() -> None:
    plan = schedule(delay=3)
    assert plan.failed(ConnectionRefusedError("nope")) == (
        "[ConnectionRefusedError: nope] (Primary) retry 1 of 3; sleeping 3s"
    )
    assert schedule(delay=3.0).failed(OSError("x")).endswith("sleeping 3.0s")
    assert schedule(primary=None).failed(OSError("x")) == "[OSError: x] (Primary) retry 1 of ∞; sleeping 3s"


def test_connection_resets_the_counter() -> None:
    plan = schedule(primary=2)
    plan.failed(OSError())
    plan.connected()
    assert plan.failed(OSError()).endswith("retry 1 of 2; sleeping 3s")
    assert plan.after_sleep() is Verdict.RETRY


def test_a_refused_token_is_a_failed_attempt_not_a_connection() -> None:
    plan = schedule(primary=2)
    plan.connected()  # the TCP connection opened...
    plan.rejected()  # ...but the relay refused the token (spec §12.10)
    assert plan.failed(AuthRejected()) == (
        "[AuthRejected: Relay rejected the auth token] (Primary) retry 1 of 2; sleeping 3s"
    )
    assert plan.after_sleep() is Verdict.RETRY
    plan.connected()
    plan.rejected()
    assert plan.failed(AuthRejected()).endswith("retry 2 of 2; sleeping 3s")
    assert plan.after_sleep() is Verdict.FALLBACK


def test_unlimited_never_gives_up() -> None:
    plan = schedule(primary=None)
    for _ in range(100):
        plan.failed(OSError())
        assert plan.after_sleep() is Verdict.RETRY


def test_travel_restarts_a_fresh_primary_stage() -> None:
    plan = schedule(primary=1)
    plan.failed(OSError())
    assert plan.after_sleep() is Verdict.FALLBACK
    plan.restart()
    assert plan.stage is Stage.PRIMARY
    assert plan.attempts == 0


def test_messages() -> None:
    plan = schedule(default=None)
    assert plan.limit_reached_message(Stage.PRIMARY) == "Primary retry limit reached (3)"
    assert plan.fallback_message() == "Falling back to default server at fallback.example:9999"
    assert (
        plan.give_up_message() == "Cannot connect to fallback fallback.example:9999 after ∞ attempts; exiting"
    )
