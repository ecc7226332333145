"""The ``summoner`` command: start a relay, check a configuration file.

Thin on purpose: each subcommand parses flags and calls the library (``SummonerServer``,
``summoner_client.config``). Exit status 0 on success, 2 for a configuration or usage error,
1 when the relay cannot start, as the native ``summoner-relay`` binary does.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click
import orjson

from summoner_client.config.loading import parse_client_config, parse_relay_config
from summoner_client.errors import ConfigError, ServerLaunchError
from summoner_client.server import SummonerServer

__all__ = ["main"]

_EXIT_CONFIG = 2
_EXIT_RUNTIME = 1


@click.group()
@click.version_option(package_name="summoner-client")
def main() -> None:
    """summoner_client: agents that talk JSON lines through a fast relay."""


@main.command()
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="Relay configuration file (JSON)."
)
@click.option("--host", default=None, help="Address to listen on; overrides the config.")
@click.option("--port", type=int, default=None, help="Port to listen on (0 picks one); overrides the config.")
@click.option("--name", default="relay", show_default=True, help="Logger and log-file name.")
@click.option(
    "--python", "use_python", is_flag=True, help='Run the asyncio relay (same as "version": "python").'
)
def relay(config_path: str | None, host: str | None, port: int | None, name: str, use_python: bool) -> None:
    """Run a relay until Ctrl+C or SIGTERM; it drains queued lines before exiting."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s - %(name)s - %(levelname)s - %(message)s")
    config_dict = None
    if use_python:
        config_dict = _read_json(config_path) if config_path else {}
        config_dict["version"] = "python"
    try:
        SummonerServer(name).run(host=host, port=port, config_path=config_path, config_dict=config_dict)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(_EXIT_CONFIG)
    except ServerLaunchError as exc:
        click.echo(f"summoner relay: {exc}", err=True)
        sys.exit(_EXIT_RUNTIME)


@main.command("check-config")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--kind",
    type=click.Choice(["auto", "client", "relay"]),
    default="auto",
    show_default=True,
    help="Which rules to apply; auto picks relay when the file has relay-only keys.",
)
@click.option("--strict", is_flag=True, help="Unknown keys are errors, not warnings (relay files).")
def check_config(path: str, kind: str, strict: bool) -> None:
    """Validate a client or relay configuration file and print every problem with its key path."""
    data = _read_json(path)
    if kind == "auto":
        kind = "relay" if _looks_like_relay(data) else "client"
    try:
        if kind == "relay":
            warnings = parse_relay_config(data, source=path, strict=strict).warnings
        else:
            warnings = parse_client_config(data, source=path).warnings
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(_EXIT_CONFIG)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{path}: valid {kind} configuration")


def _read_json(path: str) -> dict[str, object]:
    try:
        data = orjson.loads(Path(path).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        click.echo(f"{path}: cannot read a JSON object: {exc}", err=True)
        sys.exit(_EXIT_CONFIG)
    if not isinstance(data, dict):
        click.echo(f"{path}: the top level must be a JSON object", err=True)
        sys.exit(_EXIT_CONFIG)
    return data


def _looks_like_relay(data: dict[str, object]) -> bool:
    """Relay files carry ``version``, ``security.tls_*``/``auth_tokens`` or relay-only limits."""
    hyper = data.get("hyper_parameters")
    relay_only = {"max_connections", "max_queue_messages", "backpressure_policy", "connection_buffer_size"}
    return (
        "version" in data or "metrics" in data or (isinstance(hyper, dict) and bool(relay_only & set(hyper)))
    )


if __name__ == "__main__":
    main()
