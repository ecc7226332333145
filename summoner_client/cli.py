"""The ``summoner`` command: start a relay, check a configuration file, run the demo, draw a flow.

Thin on purpose: each subcommand parses flags and calls the library (``SummonerServer``,
``summoner_client.config``, ``summoner_client.demo``, ``summoner_client.flowgraph``); the only work
done here is loading a user's module and writing output. Exit status 0 on success, 2 for a
configuration or usage error, 1 when something cannot run (the relay cannot start, a module cannot
be imported, PNG support is missing), as the native ``summoner-relay`` binary does.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from pathlib import Path
from typing import Any

import click
import orjson

from summoner_client.client import SummonerClient
from summoner_client.config.loading import parse_client_config, parse_relay_config
from summoner_client.demo import DEFAULT_SECONDS, run_demo, summary_lines
from summoner_client.errors import ConfigError, ServerLaunchError
from summoner_client.flowgraph import build_flow_graph, to_dot, to_mermaid, to_png
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


@main.command()
@click.option(
    "--seconds",
    type=click.FloatRange(min=0.5),
    default=DEFAULT_SECONDS,
    show_default=True,
    help="How long the agents talk once all have joined.",
)
@click.option("--python", "use_python", is_flag=True, help="Use the asyncio relay instead of the native one.")
def demo(seconds: float, use_python: bool) -> None:
    """Run a relay and five agents in this process and print their conversation live.

    A ticker (timed sender), a greeter (receiver that publishes), an asker and an answerer, and a
    counter whose flow moves between 'counting' and 'resting'. Ends after --seconds or on Ctrl+C,
    then prints the messages each agent sent and received.
    """
    try:
        report = run_demo(seconds, python_relay=use_python, emit=click.echo)
    except ServerLaunchError as exc:
        click.echo(f"summoner demo: {exc}", err=True)
        sys.exit(_EXIT_RUNTIME)
    except KeyboardInterrupt:  # Ctrl+C before the agents had all joined: everything is stopped by now
        click.echo("summoner demo: interrupted while starting", err=True)
        sys.exit(_EXIT_RUNTIME)
    except TimeoutError as exc:
        click.echo(f"summoner demo: {exc}", err=True)
        sys.exit(_EXIT_RUNTIME)
    for line in summary_lines(report):
        click.echo(line)
    if report.errors:
        sys.exit(_EXIT_RUNTIME)


@main.group()
def flow() -> None:
    """Inspect an agent's flow without running it."""


_FORMAT_BY_SUFFIX = {".png": "png", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid"}


@flow.command("graph")
@click.argument("target", metavar="MODULE:CLIENT")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["mermaid", "dot", "png"]),
    default=None,
    help="Drawing format; by default taken from --output's suffix (.png, .dot, .mmd), else mermaid.",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write here instead of stdout."
)
def flow_graph(target: str, output_format: str | None, output: str | None) -> None:
    """Draw the flow of the client MODULE:CLIENT: states, routes, and the handlers on each route.

    MODULE is a dotted module name (found from the current directory too) or a path to a .py file;
    CLIENT is a SummonerClient in it, or a function that returns one when called with no arguments.
    Without :CLIENT the module's only SummonerClient is used. Importing the module runs its
    top-level code, so keep agent.run() under `if __name__ == "__main__":`. Static warnings (states
    nothing reaches or leaves, senders nothing triggers) go to stderr.
    """
    if output_format is None:
        output_format = _FORMAT_BY_SUFFIX.get(Path(output).suffix.lower(), "mermaid") if output else "mermaid"
    if output_format == "png" and output is None and sys.stdout.isatty():
        raise click.UsageError("PNG is binary: give --output FILE or redirect stdout")
    graph = build_flow_graph(_load_client(target))
    for warning in graph.warnings:
        click.echo(f"warning: {warning}", err=True)
    if output_format == "png":
        try:
            data = to_png(graph)
        except ModuleNotFoundError as exc:
            click.echo(f"summoner flow graph: {exc}", err=True)
            sys.exit(_EXIT_RUNTIME)
    else:
        data = (to_mermaid(graph) if output_format == "mermaid" else to_dot(graph)).encode()
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        Path(output).write_bytes(data)
        click.echo(f"wrote {output_format} flow graph of {graph.name!r} to {output}", err=True)


def _load_client(target: str) -> SummonerClient:
    """Import MODULE and return its client, calling a factory if CLIENT names one."""
    module_name, colon, attribute = target.rpartition(":")
    if not colon or not attribute.isidentifier():  # no :CLIENT (a Windows drive is no attribute)
        module_name, attribute = target, ""
    module = _import(module_name)
    if attribute:
        try:
            value: Any = getattr(module, attribute)
        except AttributeError:
            raise click.BadParameter(
                f"{module_name} has no attribute {attribute!r}", param_hint="MODULE:CLIENT"
            ) from None
        if not isinstance(value, SummonerClient) and callable(value):
            try:
                value = value()
            except Exception as exc:  # the user's factory failed: say so, with its own words
                click.echo(f"summoner flow graph: {target}() raised {type(exc).__name__}: {exc}", err=True)
                sys.exit(_EXIT_RUNTIME)
        if not isinstance(value, SummonerClient):
            raise click.BadParameter(
                f"{target} is a {type(value).__name__}, not a SummonerClient", param_hint="MODULE:CLIENT"
            )
        return value
    clients = {name: v for name, v in vars(module).items() if isinstance(v, SummonerClient)}
    if len(clients) != 1:
        found = ", ".join(sorted(clients)) or "none"
        raise click.BadParameter(
            f"{module_name} holds {len(clients)} SummonerClient objects ({found}); name one as MODULE:CLIENT",
            param_hint="MODULE:CLIENT",
        )
    return next(iter(clients.values()))


def _import(module_name: str) -> Any:
    path = Path(module_name)
    try:
        if path.suffix == ".py":
            if not path.is_file():
                raise click.BadParameter(f"no such file: {module_name}", param_hint="MODULE:CLIENT")
            # Registered under its own name, as an import would (dataclasses and pydantic look the
            # module up there), unless that name is taken: a file named json.py must not shadow json.
            name = path.stem if path.stem not in sys.modules else f"_summoner_flow_graph_{path.stem}"
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise click.BadParameter(f"cannot import {module_name}", param_hint="MODULE:CLIENT")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            sys.path.insert(0, str(path.resolve().parent))  # so the file's own sibling imports work
            spec.loader.exec_module(module)
            return module
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, "")  # the console script leaves the current directory off the path
        return importlib.import_module(module_name)
    except click.ClickException:
        raise
    except Exception as exc:  # the user's module failed to import: say so, with its own words
        click.echo(f"summoner flow graph: cannot import {module_name}: {type(exc).__name__}: {exc}", err=True)
        sys.exit(_EXIT_RUNTIME)


if __name__ == "__main__":
    main()
