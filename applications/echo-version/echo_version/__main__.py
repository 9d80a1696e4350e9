"""Command line: `python -m echo_version [--host HOST] [--port PORT] ...`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict

from prometheus_client import disable_created_metrics

from echo_version.server import run
from echo_version.settings import SettingsError, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    """Start the service; exit code 2 for invalid settings, 1 when it cannot listen, 0 after a clean stop."""
    try:
        settings = load_settings(sys.argv[1:] if argv is None else argv, os.environ)
    except SettingsError as error:
        print(f"echo_version: {error}", file=sys.stderr)
        return 2
    if settings.check_only:
        print(json.dumps({"settings": "valid", **asdict(settings)}))
        return 0
    disable_created_metrics()  # the *_created series only double what a scrape returns
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
