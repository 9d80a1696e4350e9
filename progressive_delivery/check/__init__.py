"""Offline checker of the platform tree: builds every Flux Kustomization of every stack,
validates every object strictly and checks that the objects refer to each other correctly.

    from progressive_delivery.check import check_platform, InputError
"""

from .model import Finding, InputError, Report
from .runner import check_platform

__all__ = ["check_platform", "Finding", "InputError", "Report"]
