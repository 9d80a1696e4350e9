"""Rules stage: cross-object checks of one cluster; add one by writing a @rule function in a module here."""

from __future__ import annotations

from ..view import ClusterView
from . import canary, flux, images, mesh, workloads  # noqa: F401 (importing registers their rules)
from .registry import RULES, Rule, rule

__all__ = ["RULES", "Rule", "rule", "run_rules"]


def run_rules(view: ClusterView) -> None:
    for registered in RULES:
        registered.check(view)
