"""Service settings: command-line flags override environment variables, validated once."""

from __future__ import annotations

import argparse
import math
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_PORT = 8080
DEFAULT_HOST = "0.0.0.0"
DEFAULT_VERSION = "0.0.0-dev"
DEFAULT_ENVIRONMENT = "local"
DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 25.0
# Upper bound of every configured or requested delay (fault latency, /delay/{seconds}).
MAX_DELAY_SECONDS = 30.0

_LABEL_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+\-]{0,127}")


class SettingsError(ValueError):
    """One or more settings are invalid; the message names each one and what to change."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("invalid settings:\n" + "\n".join(f"  - {p}" for p in self.problems))


@dataclass(frozen=True)
class Limits:
    """What one client, or many, may hold: connections, header bytes, and how long each phase may take.

    The service README says why each default is what it is."""

    # Connections served at once; further ones wait in the listen backlog.
    max_connections: int = 4096
    # A request line and headers longer than this get 414 or 431.
    max_header_bytes: int = 8192
    # From accepting a connection, or from the first byte of a kept-alive one's next request,
    # to the end of the request's headers.
    header_timeout_seconds: float = 10.0
    # How long a kept-alive connection may wait for its next request.
    keepalive_timeout_seconds: float = 60.0
    # How long a client that does not read may keep an answer waiting.
    send_timeout_seconds: float = 10.0


@dataclass(frozen=True)
class LimitOption:
    """How one limit is set: its Limits field, flag, environment variable, range and --help text."""

    field: str
    flag: str
    env: str
    low: float
    high: float
    text: str


LIMIT_OPTIONS = (
    LimitOption("max_connections", "--max-connections", "MAX_CONNECTIONS", 1, 1_000_000,
                "connections served at once; more wait to be accepted"),
    LimitOption("max_header_bytes", "--max-header-bytes", "MAX_HEADER_BYTES", 1024, 1_048_576,
                "size of a request's line and headers; larger ones get 414 or 431"),
    LimitOption("header_timeout_seconds", "--header-timeout", "HEADER_TIMEOUT_SECONDS", 0.1, 600.0,
                "seconds a client has to send a request's line and headers, in total"),
    LimitOption("keepalive_timeout_seconds", "--keepalive-timeout", "KEEPALIVE_TIMEOUT_SECONDS", 0.1, 3600.0,
                "seconds a kept-alive connection may wait for its next request"),
    LimitOption("send_timeout_seconds", "--send-timeout", "SEND_TIMEOUT_SECONDS", 0.1, 600.0,
                "seconds a client has to take in an answer"),
)


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to start."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    app_version: str = DEFAULT_VERSION
    environment: str = DEFAULT_ENVIRONMENT
    hostname: str = "localhost"
    fault_error_rate: float = 0.0
    fault_delay_seconds: float = 0.0
    fault_seed: int | None = None
    shutdown_timeout_seconds: float = DEFAULT_SHUTDOWN_TIMEOUT_SECONDS
    limits: Limits = Limits()
    access_log: bool = True
    check_only: bool = False


def build_parser() -> argparse.ArgumentParser:
    """The command line; values stay strings so that validation names the flag uniformly."""
    parser = argparse.ArgumentParser(
        prog="python -m echo_version",
        description="HTTP service that echoes its version; supports fault injection for canary demos.",
    )
    parser.add_argument("--host", help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", help=f"port to listen on, 0 for any free port (default {DEFAULT_PORT})")
    parser.add_argument("--app-version", help="version to echo (env APP_VERSION)")
    parser.add_argument("--environment", help="environment name (env APP_ENVIRONMENT)")
    parser.add_argument("--fault-error-rate",
                        help="share of /version requests answered 500, 0..1 (env FAULT_ERROR_RATE)")
    parser.add_argument("--fault-delay-seconds",
                        help=f"latency added to /version, 0..{MAX_DELAY_SECONDS:g} s (env FAULT_DELAY_SECONDS)")
    parser.add_argument("--fault-seed",
                        help="seed of the fault random generator, for reproducible runs (env FAULT_SEED)")
    parser.add_argument("--shutdown-timeout",
                        help="seconds to let in-flight requests finish on SIGTERM "
                             f"(env SHUTDOWN_TIMEOUT_SECONDS, default {DEFAULT_SHUTDOWN_TIMEOUT_SECONDS:g})")
    for option in LIMIT_OPTIONS:
        default = getattr(Limits(), option.field)
        parser.add_argument(option.flag, help=f"{option.text} (env {option.env}, default {default:g})")
    parser.add_argument("--quiet", action="store_true", help="do not write access logs")
    parser.add_argument("--check", action="store_true",
                        help="validate the settings, print them and exit (used when building the image)")
    return parser


class _Reader:
    """Picks each value from its flag or environment variable and collects problems."""

    def __init__(self, args: argparse.Namespace, environ: Mapping[str, str]):
        self.args = args
        self.environ = environ
        self.problems: list[str] = []

    def raw(self, flag: str, env: str | None) -> tuple[str | None, str]:
        """The value and the name of where it came from; blank values count as unset."""
        value = getattr(self.args, flag.lstrip("-").replace("-", "_"))
        if value is not None:
            return value.strip(), flag
        if env is not None and self.environ.get(env, "").strip():
            return self.environ[env].strip(), env
        return None, flag

    def number(self, flag: str, env: str | None, default: float, low: float, high: float) -> float:
        value, source = self.raw(flag, env)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or not low <= number <= high:
            self.problems.append(f"{source}={value!r}: must be a number from {low:g} to {high:g}")
            return default
        return number

    def integer(self, flag: str, env: str | None, default: int | None, low: int, high: int) -> int | None:
        value, source = self.raw(flag, env)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            self.problems.append(f"{source}={value!r}: must be a whole number from {low} to {high}")
            return default
        return number

    def count(self, flag: str, env: str | None, default: int, low: int, high: int) -> int:
        """A whole number that always has a value: the default when unset or invalid."""
        number = self.integer(flag, env, default, low, high)
        return default if number is None else number

    def label(self, flag: str, env: str, default: str) -> str:
        value, source = self.raw(flag, env)
        if value is None:
            return default
        if not _LABEL_VALUE.fullmatch(value):
            self.problems.append(f"{source}={value!r}: use 1 to 128 letters, digits, '.', '_', '+' or '-', "
                                 "starting with a letter or digit")
            return default
        return value


def _limits(reader: _Reader) -> Limits:
    """Each limit from its flag or environment variable, whole numbers for counts, within its range."""
    defaults = Limits()
    values: dict[str, Any] = {}
    for option in LIMIT_OPTIONS:
        default = getattr(defaults, option.field)
        if isinstance(default, int):
            values[option.field] = reader.count(option.flag, option.env, default, int(option.low), int(option.high))
        else:
            values[option.field] = reader.number(option.flag, option.env, default, option.low, option.high)
    return Limits(**values)


def load_settings(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    """Settings from the command line and environment; raises SettingsError naming every bad value."""
    args = build_parser().parse_args(list(argv))
    reader = _Reader(args, environ)
    host, _ = reader.raw("--host", None)
    if host == "":
        reader.problems.append("--host: must not be empty")
    port = reader.count("--port", None, DEFAULT_PORT, 0, 65535)
    settings = Settings(
        host=host or DEFAULT_HOST,
        port=port,
        app_version=reader.label("--app-version", "APP_VERSION", DEFAULT_VERSION),
        environment=reader.label("--environment", "APP_ENVIRONMENT", DEFAULT_ENVIRONMENT),
        hostname=environ.get("POD_NAME", "").strip() or socket.gethostname(),
        fault_error_rate=reader.number("--fault-error-rate", "FAULT_ERROR_RATE", 0.0, 0.0, 1.0),
        fault_delay_seconds=reader.number("--fault-delay-seconds", "FAULT_DELAY_SECONDS", 0.0,
                                          0.0, MAX_DELAY_SECONDS),
        fault_seed=reader.integer("--fault-seed", "FAULT_SEED", None, 0, 2**63 - 1),
        shutdown_timeout_seconds=reader.number("--shutdown-timeout", "SHUTDOWN_TIMEOUT_SECONDS",
                                               DEFAULT_SHUTDOWN_TIMEOUT_SECONDS, 0.0, 600.0),
        limits=_limits(reader),
        access_log=not args.quiet,
        check_only=args.check,
    )
    if reader.problems:
        raise SettingsError(reader.problems)
    return settings
