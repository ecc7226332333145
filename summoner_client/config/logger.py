"""The ``logger`` section of a configuration, for the client and for the relay.

Both sides read the original's keys with the same types. They differ in defaults and in how
``log_level`` is read: the client maps an unknown level name to DEBUG, as the original did (client
spec §9.2), while the relay rejects it and also knows TRACE and OFF (relay spec §3.4). The shared keys
live on :class:`LoggerConfigBase`; each side adds its level and console format.

Only validation lives here. Building handlers and formatters from a section is the job of
:mod:`summoner_client.logger` (client) and of the relay launcher.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "DEFAULT_BACKUP_COUNT",
    "DEFAULT_CLIENT_CONSOLE_LOG_FORMAT",
    "DEFAULT_CLIENT_LOG_LEVEL",
    "DEFAULT_LOG_FORMAT",
    "DEFAULT_MAX_FILE_SIZE",
    "DEFAULT_RELAY_LOG_LEVEL",
    "RELAY_LOG_LEVEL_ALIASES",
    "ClientLoggerConfig",
    "LoggerConfigBase",
    "RelayLogLevel",
    "RelayLoggerConfig",
]

DEFAULT_CLIENT_LOG_LEVEL: Final = "DEBUG"
DEFAULT_RELAY_LOG_LEVEL: Final = "INFO"
DEFAULT_LOG_FORMAT: Final = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
DEFAULT_CLIENT_CONSOLE_LOG_FORMAT: Final = (
    "\x1b[92m%(asctime)s\x1b[0m - \x1b[94m%(name)s\x1b[0m - %(levelname)s - %(message)s"
)
DEFAULT_MAX_FILE_SIZE: Final = 1_000_000
DEFAULT_BACKUP_COUNT: Final = 3

RelayLogLevel = Literal["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "OFF"]
RELAY_LOG_LEVEL_ALIASES: Final[dict[str, RelayLogLevel]] = {"WARN": "WARNING", "FATAL": "CRITICAL"}
_RELAY_LEVELS: Final = frozenset(get_args(RelayLogLevel))
_RELAY_LEVEL_RULE: Final = (
    "one of TRACE, DEBUG, INFO, WARNING (or WARN), ERROR, CRITICAL (or FATAL), OFF (in any case)"
)


class LoggerConfigBase(BaseModel):
    """Keys of the original's ``logger`` section that mean the same on both sides."""

    model_config = ConfigDict(extra="ignore", strict=True)

    enable_console_log: bool = Field(
        default=True,
        description="Attach a console handler. With false, nothing is written to the console at any level.",
    )
    enable_file_log: bool = Field(
        default=False,
        description=(
            "Write a rotating file <log_file_path>/<safe logger name>.log. With false, no file is opened."
        ),
    )
    enable_json_log: bool = Field(
        default=False,
        description="Write the file as JSON lines instead of log_format text; the console is never JSON.",
    )
    log_file_path: str = Field(
        default="",
        description='Directory of the log file, created if missing; "" is the current directory.',
    )
    log_format: str = Field(
        default=DEFAULT_LOG_FORMAT,
        description="%-style format of file records when enable_json_log is false.",
    )
    date_format: str | None = Field(
        default=None,
        description=(
            "strftime format of asctime, plus %<n>f for the first n digits (clamped to 0..6) of the "
            "fraction; a plain %f gives 3 digits. null gives %Y-%m-%d %H:%M:%S with milliseconds."
        ),
    )
    max_file_size: int = Field(
        default=DEFAULT_MAX_FILE_SIZE,
        ge=0,
        description=(
            "Size in bytes at which the file is rotated. 0 never rotates, so the file grows without limit."
        ),
    )
    backup_count: int = Field(
        default=DEFAULT_BACKUP_COUNT,
        ge=0,
        description=(
            "Rotated files kept; the oldest is deleted when one more would exist. "
            "0 keeps none, and rotation then never happens."
        ),
    )
    log_keys: list[str] | None = Field(
        default=None,
        description=(
            "Message keys kept when a structured message is logged; every other key is left out. "
            "[] keeps none, null keeps all."
        ),
    )


class ClientLoggerConfig(LoggerConfigBase):
    """The client's ``logger`` section, with the original's defaults (client spec §9.2)."""

    log_level: str = Field(
        default=DEFAULT_CLIENT_LOG_LEVEL,
        description=(
            "Level name, case-insensitive. An unknown name means DEBUG, as in the original, and loading "
            "reports a warning."
        ),
    )
    console_log_format: str = Field(
        default=DEFAULT_CLIENT_CONSOLE_LOG_FORMAT,
        description="%-style format of console records, written to stdout.",
    )


class RelayLoggerConfig(LoggerConfigBase):
    """The relay's ``logger`` section (relay spec §3.4): INFO by default and strict about level names."""

    log_level: RelayLogLevel = Field(
        default=DEFAULT_RELAY_LOG_LEVEL,
        description=(
            "Level name, case-insensitive, stored in upper case with WARN read as WARNING and FATAL as "
            "CRITICAL. TRACE is below DEBUG; OFF logs nothing. Any other name is a configuration error."
        ),
    )
    console_log_format: str = Field(
        default=DEFAULT_LOG_FORMAT,
        description=(
            "%-style format of console records, written to stderr. Placeholders other than asctime, name, "
            "levelname and message print as -."
        ),
    )
    log_content: bool = Field(
        default=False,
        description="Include escaped message content in DEBUG records; with false only metadata is logged.",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _canonical_level(cls, value: object) -> object:
        if isinstance(value, str):
            name = value.upper()
            name = RELAY_LOG_LEVEL_ALIASES.get(name, name)
            if name in _RELAY_LEVELS:
                return name
        raise PydanticCustomError("config_rule", "must be {rule}", {"rule": _RELAY_LEVEL_RULE})
