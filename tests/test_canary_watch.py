"""Following a release's canary: snapshots from kubectl, and the decision promoted / rolled back."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from release_fixtures import deployment

from progressive_delivery import canary_watch
from progressive_delivery.canary import CanaryStatus
from progressive_delivery.canary_watch import CanarySnapshot, CanaryWatch, Outcome, follow, poll_canary
from progressive_delivery.kube import ClusterUnreachable, KubeconfigUnusable, Kubectl
from progressive_delivery.process import Result

T0 = datetime(2025, 1, 1, 12, 0, 0)


def snaps(*states: tuple) -> list[CanarySnapshot]:
    """Snapshots from (phase, weight, failed checks, canary tag, primary tag), 5 s apart."""
    return [CanarySnapshot(T0 + timedelta(seconds=5 * i), CanaryStatus(phase, weight, failed, "echo-version"),
                           canary, primary)
            for i, (phase, weight, failed, canary, primary) in enumerate(states)]


def run_watch(snapshots, version="1.2.0"):
    watch = CanaryWatch(version)
    events = list(follow(snapshots, watch))
    return watch, events


def phases(events) -> list[str]:
    return [e.snapshot.canary.phase for e in events]


def test_progressing_canary_ends_promoted():
    watch, events = run_watch(snaps(
        ("Succeeded", 0, 0, "1.1.0", "1.1.0"),  # Flux has not deployed 1.2.0 yet
        ("Succeeded", 0, 0, "1.1.0", "1.1.0"),
        ("Succeeded", 0, 0, "1.2.0", "1.1.0"),  # deployed; Flagger has not noticed yet
        ("Progressing", 0, 0, "1.2.0", "1.1.0"),
        ("Progressing", 20, 0, "1.2.0", "1.1.0"),
        ("Progressing", 20, 0, "1.2.0", "1.1.0"),
        ("Progressing", 40, 0, "1.2.0", "1.1.0"),
        ("Progressing", 60, 0, "1.2.0", "1.1.0"),
        ("Promoting", 0, 0, "1.2.0", "1.2.0"),
        ("Finalising", 0, 0, "1.2.0", "1.2.0"),
        ("Succeeded", 0, 0, "1.2.0", "1.2.0"),
        ("Succeeded", 0, 0, "1.2.0", "1.2.0"),  # never reached: the watch has ended
    ))
    assert watch.outcome is Outcome.PROMOTED
    assert [e.snapshot.canary.weight for e in events if e.snapshot.canary.phase == "Progressing"] == [0, 20, 40, 60]
    assert phases(events) == ["Succeeded", "Succeeded", "Progressing", "Progressing", "Progressing", "Progressing",
                              "Promoting", "Finalising", "Succeeded"]
    assert events[-1].outcome is Outcome.PROMOTED and events[-1].line().endswith("-> promoted")
    assert events[3].line() == "12:00:20  Progressing      weight  20%  failed checks 0  canary image 1.2.0"


def test_failing_canary_ends_rolled_back():
    watch, events = run_watch(snaps(
        ("Succeeded", 0, 0, "1.2.0", "1.1.0"),
        ("Progressing", 10, 0, "1.2.0", "1.1.0"),
        ("Progressing", 10, 1, "1.2.0", "1.1.0"),
        ("Progressing", 10, 2, "1.2.0", "1.1.0"),
        ("Failed", 0, 2, "1.2.0", "1.1.0"),
    ))
    assert watch.outcome is Outcome.ROLLED_BACK
    assert [e.snapshot.canary.failed_checks for e in events] == [0, 0, 1, 2, 2]
    assert "failed checks 2" in events[-1].line() and events[-1].line().endswith("-> rolled back")


def test_a_failed_phase_left_by_an_earlier_release_does_not_end_the_watch():
    watch, events = run_watch(snaps(
        ("Failed", 0, 5, "1.1.0", "1.0.0"),  # the previous (faulty) release
        ("Failed", 0, 5, "1.2.0", "1.0.0"),  # 1.2.0 deployed, Flagger not yet analysing
        ("Progressing", 0, 0, "1.2.0", "1.0.0"),
        ("Succeeded", 0, 0, "1.2.0", "1.2.0"),
    ))
    assert watch.outcome is Outcome.PROMOTED
    assert all(e.outcome is None for e in events[:-1])


def test_an_already_promoted_version_is_recognised():
    watch, _ = run_watch(snaps(("Succeeded", 0, 0, "1.2.0", "1.2.0")))
    assert watch.outcome is Outcome.PROMOTED


def test_snapshots_running_out_is_a_timeout_naming_what_is_missing():
    watch, events = run_watch(snaps(("Succeeded", 0, 0, "1.1.0", "1.1.0")) * 3)
    assert watch.outcome is None and len(events) == 1
    message = canary_watch.timeout_message(watch, 20, "staging")
    assert "Flux has not deployed 1.2.0 yet (the Deployment runs 1.1.0)" in message
    assert "status --stack staging" in message
    watch, _ = run_watch(snaps(("Progressing", 40, 0, "1.2.0", "1.1.0")))
    assert "still Progressing at weight 40%" in canary_watch.timeout_message(watch, 20, "staging")
    watch, _ = run_watch([CanarySnapshot(T0, error="waiting: the cluster does not answer")])
    assert "(waiting: the cluster does not answer)" in canary_watch.timeout_message(watch, 20, "staging")


def test_snapshot_reads_the_canary_and_both_deployments():
    canary = {"spec": {"targetRef": {"kind": "Deployment", "name": "echo-version"}},
              "status": {"phase": "Progressing", "canaryWeight": 40, "failedChecks": 1}}
    image = "k3d-pd-staging-registry:5000/echo-version:{}"
    deployments = {"items": [deployment("echo-version", image.format("1.2.0")),
                             deployment("echo-version-primary", image.format("1.1.0"))]}
    snapshot = canary_watch.snapshot_from(canary, deployments, T0)
    assert snapshot.canary == CanaryStatus("Progressing", 40, 1, "echo-version")
    assert (snapshot.canary_tag, snapshot.primary_tag) == ("1.2.0", "1.1.0")
    empty = canary_watch.snapshot_from({}, {"items": []}, T0)
    assert (empty.canary.phase, empty.canary_tag) == ("Initializing", None)


def scripted(*answers: Result):
    replies = iter(answers)

    def runner(argv, **_):
        return next(replies)

    return runner


def test_poll_reports_a_missing_canary_and_stops_at_the_deadline():
    missing = Result(1, "", 'Error from server (NotFound): canaries.flagger.app "echo-version" not found')
    ticks = iter(range(100))
    snapshots = list(poll_canary(Kubectl(scripted(*[missing] * 3)), deadline=3, clock=lambda: next(ticks),
                                 sleep=lambda _: None, now=lambda: T0))
    assert len(snapshots) == 3
    assert snapshots[0].error == "waiting: Canary applications/echo-version does not exist yet"
    assert snapshots[0].canary is None


def test_poll_fails_fast_on_a_cluster_that_never_answered_then_tolerates_outages():
    refused = Result(1, "", "Unable to connect to the server: connection refused")
    with pytest.raises(ClusterUnreachable):
        list(poll_canary(Kubectl(scripted(refused)), deadline=10, clock=lambda: 0, sleep=lambda _: None))

    ok = Result(0, json.dumps({"status": {"phase": "Succeeded"}}))
    timeout = Result(1, "", "Unable to connect to the server: i/o timeout")
    ticks = iter(range(100))
    snapshots = list(poll_canary(Kubectl(scripted(ok, Result(0, '{"items": []}'), timeout)), deadline=2,
                                 clock=lambda: next(ticks), sleep=lambda _: None, now=lambda: T0))
    assert [s.error for s in snapshots] == [None, "waiting: the cluster does not answer"]


def test_poll_stops_at_once_on_a_kubeconfig_kubectl_cannot_use():
    refused = Result(1, "", "error: You must be logged in to the server (Unauthorized)")
    ok = Result(0, json.dumps({"status": {"phase": "Succeeded"}}))
    ticks = iter(range(100))
    with pytest.raises(KubeconfigUnusable, match="Unauthorized"):
        list(poll_canary(Kubectl(scripted(ok, Result(0, '{"items": []}'), refused)), deadline=50,
                         clock=lambda: next(ticks), sleep=lambda _: None, now=lambda: T0))
