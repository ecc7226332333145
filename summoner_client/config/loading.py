"""File or dict to a validated configuration model, with every problem reported at once.

Reading (client spec §7.1, relay spec §3.1): JSON is parsed with orjson; a file that cannot be read,
invalid JSON or a top level that is not an object raise :class:`ConfigError` naming the file and the
parser's message. A missing file means the defaults for the client, with a WARNING, and is an error
for the relay. When a dict and a path are both given, the dict wins and the file is not read.

Reporting: every pydantic error becomes one :class:`ConfigIssue` whose path is the dotted key path
(list items as ``key[0]``). Its message comes from the rule of the field, not from pydantic's text:

- client: ``"<dotted key> must be <rule>, got <value>"``, the key counted from inside
  ``hyper_parameters`` as in the original; the original's three checks keep their messages and come
  first, the rest follow the keys table (:data:`~.client.ORIGINAL_CHECKS`, :data:`~.client.ISSUE_ORDER`);
- relay: ``"must be <rule>; got <value>"``, in model order (relay spec §3.2).

Unknown keys are never silent. The relay warns, naming the closest known key, and ``strict`` makes
that an error. The client accepts keys the relay knows (``version`` often shares the file) and warns
about the others. Warnings and the relay's INFO list of legacy keys are returned as data in
:class:`LoadedConfig` and logged on this module's logger; :func:`parse_client_config` and
:func:`parse_relay_config` return them without logging.
"""

from __future__ import annotations

import difflib
import logging
import os
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar, Union, get_args, get_origin

import annotated_types
import orjson
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from summoner_client.config.client import ISSUE_ORDER, ORIGINAL_CHECKS, ClientConfig
from summoner_client.config.relay import RelayConfig
from summoner_client.errors import ConfigError, ConfigIssue

__all__ = [
    "LoadedConfig",
    "load_client_config",
    "load_config",
    "load_relay_config",
    "parse_client_config",
    "parse_relay_config",
]

_log = logging.getLogger(__name__)

ConfigT = TypeVar("ConfigT", bound=BaseModel)
_Message = Callable[[str, str, str], str]
_DICT_SOURCE = "config_dict"
_SHOWN_LENGTH = 80


@dataclass(frozen=True)
class LoadedConfig(Generic[ConfigT]):
    """A validated configuration and what loading it had to say.

    Attributes:
        config: The validated model.
        warnings: Problems that did not stop loading (unknown keys, a missing client file, ...).
        infos: Notes worth one INFO line (the relay's legacy keys that have no effect).
        source: The file path, ``"config_dict"``, or ``None`` when the defaults were used.
    """

    config: ConfigT
    warnings: list[ConfigIssue]
    infos: list[ConfigIssue]
    source: str | None


def load_config(config_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a JSON config file as a dict, by the client's rules, without validating it.

    A missing file logs WARNING ``"Config file not found: <path>; using defaults"`` and gives ``{}``.

    Raises:
        ConfigError: The file cannot be read, is not JSON, or its top level is not an object.
    """
    try:
        return _read_object(config_path)
    except FileNotFoundError:
        _log.warning("Config file not found: %s; using defaults", config_path)
        return {}


def load_client_config(
    config_path: str | os.PathLike[str] | None = None, config_dict: Mapping[str, Any] | None = None
) -> LoadedConfig[ClientConfig]:
    """Load and validate a client configuration, logging its warnings (client spec §7.1).

    Raises:
        ConfigError: Listing every problem found.
        TypeError: ``config_dict`` is not a mapping.
    """
    missing: list[ConfigIssue] = []
    if config_dict is not None:
        data, source = _mapping(config_dict), _DICT_SOURCE
    elif config_path is not None:
        source = os.fspath(config_path)
        try:
            data = _read_object(config_path)
        except FileNotFoundError:
            data = {}
            missing.append(ConfigIssue("", f"Config file not found: {source}; using defaults"))
    else:
        data, source = {}, None
    loaded = parse_client_config(data, source=source)
    loaded = replace(loaded, warnings=[*missing, *loaded.warnings])
    _log_outcome(loaded)
    return loaded


def load_relay_config(
    config_path: str | os.PathLike[str] | None = None,
    config_dict: Mapping[str, Any] | None = None,
    *,
    strict: bool = False,
) -> LoadedConfig[RelayConfig]:
    """Load and validate a relay configuration, logging its warnings and legacy keys (relay spec §3).

    Args:
        config_path: A JSON file; a missing or unreadable one is an error.
        config_dict: A configuration as a dict; it wins over ``config_path``.
        strict: Treat unknown keys as errors (``summoner-relay --check --strict``).

    Raises:
        ConfigError: Listing every problem found.
        TypeError: ``config_dict`` is not a mapping.
    """
    if config_dict is not None:
        data, source = _mapping(config_dict), _DICT_SOURCE
    elif config_path is not None:
        source = os.fspath(config_path)
        try:
            data = _read_object(config_path)
        except FileNotFoundError as exc:
            raise ConfigError(
                ConfigIssue("", f"cannot read the file: {exc.strerror}"), source=source
            ) from None
    else:
        data, source = {}, None
    loaded = parse_relay_config(data, source=source, strict=strict)
    _log_outcome(loaded)
    return loaded


def parse_client_config(data: Mapping[str, Any], *, source: str | None = None) -> LoadedConfig[ClientConfig]:
    """Validate a client configuration already parsed from JSON; nothing is logged.

    Raises:
        ConfigError: Listing every problem, the original's three checks first, then in table order.
    """
    warnings = [
        _unknown_key(parts, ClientConfig)
        for parts in _unknown_keys(_mapping(data), ClientConfig)
        if not _is_known(RelayConfig, parts)
    ]
    try:
        config = ClientConfig.model_validate(data)
    except ValidationError as exc:
        issues = sorted(
            _issues(exc, ClientConfig, _client_message), key=lambda issue: _client_rank(issue.path)
        )
        raise ConfigError(issues, source=source) from None
    return LoadedConfig(config, [*warnings, *config.config_warnings()], [], source)


def parse_relay_config(
    data: Mapping[str, Any], *, source: str | None = None, strict: bool = False
) -> LoadedConfig[RelayConfig]:
    """Validate a relay configuration already parsed from JSON; nothing is logged.

    Raises:
        ConfigError: Listing every problem, and the unknown keys too when ``strict``.
    """
    unknown = [_unknown_key(parts, RelayConfig) for parts in _unknown_keys(_mapping(data), RelayConfig)]
    try:
        config = RelayConfig.model_validate(data)
    except ValidationError as exc:
        issues = _issues(exc, RelayConfig, _relay_message)
        raise ConfigError([*issues, *unknown] if strict else issues, source=source) from None
    if strict and unknown:
        raise ConfigError(unknown, source=source)
    infos = [ConfigIssue(path, "accepted; no effect") for path in config.legacy_keys()]
    return LoadedConfig(config, [*([] if strict else unknown), *config.config_warnings()], infos, source)


def _mapping(data: object) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise TypeError(f"config_dict must be a dict or None, got {type(data).__name__}")
    return data


def _read_object(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a JSON object from ``path``; FileNotFoundError is left to the caller's rules."""
    source = os.fspath(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(
            ConfigIssue("", f"cannot read the file: {exc.strerror or exc}"), source=source
        ) from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(ConfigIssue("", f"invalid JSON: {exc}"), source=source) from None
    if not isinstance(data, dict):
        raise ConfigError(
            ConfigIssue("", f"the top level must be a JSON object, got {_json_kind(data)}"), source=source
        )
    return data


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else "a number"


def _log_outcome(loaded: LoadedConfig[Any]) -> None:
    for issue in loaded.warnings:
        if issue.path:
            _log.warning("%s: %s", loaded.source, issue)
        else:
            _log.warning("%s", issue.message)
    if loaded.infos:
        keys = ", ".join(issue.path for issue in loaded.infos)
        _log.info("%s: legacy keys accepted with no effect: %s", loaded.source, keys)


# --- pydantic errors to ConfigIssue ------------------------------------------------------------------


def _client_message(path: str, rule: str, shown: str) -> str:
    if path in ORIGINAL_CHECKS:
        return ORIGINAL_CHECKS[path]
    return f"{path.removeprefix('hyper_parameters.')} must be {rule}, got {shown}"


def _relay_message(path: str, rule: str, shown: str) -> str:
    return f"must be {rule}; got {shown}"


def _issues(exc: ValidationError, model: type[BaseModel], message: _Message) -> list[ConfigIssue]:
    """One issue per failing key. Both branches of a failed ``int | float`` give the same issue, kept once."""
    issues: list[ConfigIssue] = []
    for error in exc.errors():
        context = error.get("ctx", {})
        path, field, is_item = _locate(model, error["loc"])
        if "issues" in context:  # cross-key rules: (path relative to the model, rule, value) triples
            for sub_path, rule, value in context["issues"]:
                full = f"{path}.{sub_path}" if path else sub_path
                issues.append(ConfigIssue(full, message(full, rule, _show(value))))
            continue
        rule = context.get("rule") or _rule(field, is_item)
        shown = "<hidden>" if field is not None and not field.repr else _show(error["input"])
        issues.append(ConfigIssue(path, message(path, rule, shown)))
    return list(dict.fromkeys(issues))


def _locate(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[str, FieldInfo | None, bool]:
    """Dotted key path of a pydantic location, the field it ends in, and whether it names a list item."""
    parts: list[str] = []
    current: type[BaseModel] | None = model
    field: FieldInfo | None = None
    is_item = False
    for step in loc:
        if isinstance(step, int):
            parts[-1] += f"[{step}]"
            is_item = True
        elif current is not None and step in current.model_fields:
            field = current.model_fields[step]
            parts.append(step)
            current, is_item = _section_model(field.annotation), False
        # Any other string is a union branch tag, such as "int" in ``int | float``: not a key.
    return ".".join(parts), field, is_item


def _rule(field: FieldInfo | None, is_item: bool) -> str:
    if field is None:
        return "an object"
    if is_item:
        lists = [member for member in _members(field.annotation) if get_origin(member) is list]
        return _describe(get_args(lists[0])[0], []) if lists else "an item"
    return _describe(field.annotation, field.metadata)


def _describe(annotation: Any, metadata: list[Any]) -> str:
    """Word a type and its bounds: ``int | None`` with ``ge=1`` is "an integer ≥ 1 or null"."""
    members = _members(annotation)
    nullable = type(None) in members
    kinds = {_kind(member) for member in members if member is not type(None)}
    text = "a number" if kinds == {"an integer", "a number"} else " or ".join(sorted(kinds))
    bounds = _bounds(metadata)
    text = f"{text} {bounds}" if bounds else text
    return f"{text} or null" if nullable else text


def _members(annotation: Any) -> tuple[Any, ...]:
    return get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else (annotation,)


def _kind(annotation: Any) -> str:
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(orjson.dumps(value).decode() for value in get_args(annotation))
    if get_origin(annotation) is list:
        return "a list of " + _kind(get_args(annotation)[0]).removeprefix("a ") + "s"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    return names.get(annotation, "an object")


def _bounds(metadata: list[Any]) -> str:
    limits = {type(item): item for item in metadata}
    low, high = limits.get(annotated_types.Ge), limits.get(annotated_types.Le)
    if low is not None and high is not None:
        return f"from {low.ge} to {high.le}"
    words = []
    for kind, attribute, symbol in (
        (annotated_types.Ge, "ge", "≥"),
        (annotated_types.Gt, "gt", ">"),
        (annotated_types.Le, "le", "≤"),
        (annotated_types.Lt, "lt", "<"),
    ):
        if kind in limits:
            words.append(f"{symbol} {getattr(limits[kind], attribute)}")
    return " and ".join(words)


def _show(value: object) -> str:
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= _SHOWN_LENGTH else text[: _SHOWN_LENGTH - 3] + "..."


def _client_rank(path: str) -> tuple[int, int]:
    if path in ORIGINAL_CHECKS:
        return 0, list(ORIGINAL_CHECKS).index(path)
    for index, key in enumerate(_client_key_order()):
        if path == key or path.startswith((f"{key}.", f"{key}[")) or key.startswith(f"{path}."):
            return 1, index
    return 2, 0


@cache
def _client_key_order() -> tuple[str, ...]:
    order: list[str] = []
    for section in ISSUE_ORDER:
        model = _model_at(ClientConfig, section.split("."))
        order += [f"{section}.{name}" for name in model.model_fields] if model else [section]
    return tuple(order)


# --- unknown keys --------------------------------------------------------------------------------


def _section_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *get_args(annotation)):
        if get_origin(candidate) is None and isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _model_at(model: type[BaseModel], parts: list[str]) -> type[BaseModel] | None:
    current: type[BaseModel] | None = model
    for part in parts:
        field = current.model_fields.get(part) if current is not None else None
        current = _section_model(field.annotation) if field is not None else None
    return current


def _unknown_keys(
    data: Mapping[Any, Any], model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    for key, value in data.items():
        parts = (*prefix, str(key))
        field = model.model_fields.get(key) if isinstance(key, str) else None
        if field is None:
            yield parts
            continue
        section = _section_model(field.annotation)
        if section is not None and isinstance(value, Mapping):
            yield from _unknown_keys(value, section, parts)


def _is_known(model: type[BaseModel], parts: tuple[str, ...]) -> bool:
    current: type[BaseModel] | None = model
    for part in parts:
        if current is None:
            return True  # inside a key whose value is not a section
        field = current.model_fields.get(part)
        if field is None:
            return False
        current = _section_model(field.annotation)
    return True


@cache
def _known_paths(model: type[BaseModel]) -> tuple[str, ...]:
    paths: list[str] = []
    for name, field in model.model_fields.items():
        paths.append(name)
        section = _section_model(field.annotation)
        if section is not None:
            paths += [f"{name}.{sub}" for sub in _known_paths(section)]
    return tuple(paths)


def _unknown_key(parts: tuple[str, ...], model: type[BaseModel]) -> ConfigIssue:
    """Name the closest known key: the same name elsewhere, a close sibling, or a close key anywhere."""
    parent, key = parts[:-1], parts[-1]
    section = _model_at(model, list(parent))
    siblings = list(section.model_fields) if section is not None else []
    by_name = {path.rpartition(".")[2]: path for path in reversed(_known_paths(model))}
    suggestion: str | None = by_name.get(key)
    if suggestion is None and (close := difflib.get_close_matches(key, siblings, n=1)):
        suggestion = ".".join((*parent, close[0]))
    if suggestion is None and (close := difflib.get_close_matches(key, list(by_name), n=1)):
        suggestion = by_name[close[0]]
    hint = f'did you mean "{suggestion}"?' if suggestion else "no known key is close to it"
    return ConfigIssue(".".join(parts), f"unknown key; {hint}")
