"""Last line of defence: a check that trips over an unexpected shape becomes one finding.

Checks read nested fields through access.py, so a malformed object normally
reads as "absent". Should a check still fail on a shape nobody foresaw, the
error is reported as a finding that names the check and the object it was
looking at (the innermost KubeObject among the failing frames' locals),
instead of ending the run with a traceback. Only the errors wrong shapes
cause are caught; anything else is a bug and propagates.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from .model import Findings, KubeObject

SHAPE_ERRORS = (AttributeError, TypeError, ValueError, KeyError, IndexError)
T = TypeVar("T")


def guarded(out: Findings, check: str, function: Callable[[], T]) -> T | None:
    """function(); on a shape error, a finding "could not check ..." and None."""
    try:
        return function()
    except SHAPE_ERRORS as error:
        obj = failing_object(error.__traceback__)
        detail = f"{type(error).__name__}: {error}"
        if obj is not None:
            out.add(obj, f"could not check {check}: {detail}; fix the object's structure (see its schema)")
        else:
            out.add(None, f"could not check {check}: {detail}; fix the structure of the objects it reads",
                    path="-", kind="check", name=check)
        return None


def failing_object(tb: TracebackType | None) -> KubeObject | None:
    """The object the failing code was looking at: of the innermost frame that holds a KubeObject in a
    local variable, its first one (arguments and loop variables come before derived objects)."""
    found = None
    for frame, _ in traceback.walk_tb(tb):
        first = next((v for v in frame.f_locals.values() if isinstance(v, KubeObject)), None)
        found = first or found
    return found
