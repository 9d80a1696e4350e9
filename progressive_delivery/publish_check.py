"""The platform checker, run by publishing on the source tree and on the tree it would push."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .publish_failures import CheckFailed, PublishError, PublishInputError


def _checker() -> tuple[Callable[[Path], Any], type[Exception]]:
    """check_platform and InputError, imported on first use (large, and `--no-check` never needs them)."""
    try:
        from progressive_delivery.check import InputError, check_platform
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("progressive_delivery.check"):
            raise
        raise PublishError("The platform checker (progressive_delivery.check) is not available; "
                           "run with --no-check to publish without checking.") from error
    return check_platform, InputError


def check_source(source: Path) -> None:
    """Check the source tree; raise CheckFailed (findings) or PublishInputError (unreadable input)."""
    check_platform, input_error = _checker()
    try:
        report = check_platform(source)
    except input_error as error:
        raise PublishInputError(f"The platform check cannot read {source}: {error}") from error
    if not report.ok:
        raise CheckFailed(f"The platform check found problems in {source}; nothing was published.\n"
                          f"{report.format()}")


def problems_in(tree: Path) -> str | None:
    """None when the tree written out at `tree` passes the check, else what the checker says."""
    check_platform, input_error = _checker()
    try:
        report = check_platform(tree)
    except input_error as error:
        return f"The platform check cannot build it: {error}"
    return None if report.ok else str(report.format())
