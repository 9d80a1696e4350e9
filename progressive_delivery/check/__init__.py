"""Offline checker of a Flux tree: builds every Flux Kustomization as kustomize-controller does, renders
every HelmRelease with Helm, validates every object strictly and checks that objects refer to each other.

    from progressive_delivery.check import check_platform, InputError

Stages (pipeline.py): load/ -> build/ -> render/ -> validate/ -> rules/ -> report.py.
"""

from .model import Finding, InputError
from .pipeline import check_platform
from .report import Report

__all__ = ["Finding", "InputError", "Report", "check_platform"]
