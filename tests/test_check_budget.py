"""Timing budget: Go durations, analysis steps and the figures for the real tree."""

import pytest
from conftest import check_platform_source

from progressive_delivery.check import check_platform
from progressive_delivery.check.budget import analysis_steps, format_duration, parse_duration


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("1m", 60), ("1h30m", 5400), ("1m30s", 90),
                                           ("500ms", 0.5), ("0", 0), ("2.5m", 150)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1x", "m", "10", None])
def test_parse_duration_rejects(text):
    assert parse_duration(text) is None


def test_format_duration():
    assert format_duration(30) == "30s" and format_duration(90) == "1m30s" and format_duration(3700) == "1h1m40s"


@pytest.mark.parametrize("analysis, skip, steps", [
    ({"maxWeight": 50, "stepWeight": 10}, False, 5),
    ({"maxWeight": 50, "stepWeight": 20}, False, 3),
    ({"stepWeights": [5, 10, 25, 50]}, False, 4),
    ({"iterations": 10}, False, 10),
    ({"maxWeight": 50, "stepWeight": 10}, True, 0),
])
def test_analysis_steps(analysis, skip, steps):
    assert analysis_steps(analysis, skip)[0] == steps


def test_budget_of_the_real_tree_follows_the_formula():
    from progressive_delivery.config import GIT_SYNC_INTERVAL_SECONDS

    report = check_platform(check_platform_source())
    for stack in report.stacks:
        lines = report.budgets[stack]
        latency = next(line for line in lines if "new image -> canary" in line)
        parts = [parse_duration(p.rsplit(" ", 1)[1].rstrip(")")) for p in latency.split("(", 1)[1].split(" + ")]
        total = parse_duration(latency.split("at most ")[1].split(" ")[0])
        assert len(parts) == 5 and total == sum(parts) and GIT_SYNC_INTERVAL_SECONDS in parts
        # apps waits for infrastructure-manifests, which waits for infrastructure-releases.
        assert "2 x dependency requeue of Kustomization flux-system/apps 1m0s" in latency
        assert total <= 180, f"{stack}: a new image must reach its canary within 3 minutes ({latency})"
        duration = next(line for line in lines if "clean canary" in line)
        assert "initialisation" in duration and "promotion" in duration


def test_dependency_depth_counts_the_longest_chain():
    from progressive_delivery.check.budget import dependency_depth
    from progressive_delivery.check.model import KubeObject
    from progressive_delivery.check.view import StackView

    def kustomization(name, *depends):
        body = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": {"name": name, "namespace": "flux-system"},
                "spec": {"dependsOn": [{"name": d} for d in depends]}}
        return KubeObject(body, f"clusters/{name}.yaml", "flux-system/flux-system")

    view = StackView(stack="staging", values={}, branch="main", tree=None, validator=None)
    for obj in (kustomization("a"), kustomization("b", "a"), kustomization("c", "a", "b"),
                kustomization("loop", "loop")):
        view.add(obj)
    assert dependency_depth(view, "flux-system/a") == 0
    assert dependency_depth(view, "flux-system/c") == 2
    assert dependency_depth(view, "flux-system/loop") == 1
    assert dependency_depth(view, "flux-system/missing") == 0
