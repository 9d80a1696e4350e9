"""Readiness rows of Flux objects and the Canary, from fabricated `kubectl get -o json` listings."""

from __future__ import annotations

import json

import pytest

from progressive_delivery import readiness
from progressive_delivery.kube import ClusterUnreachable, KubeconfigUnusable, Kubectl
from progressive_delivery.process import Result
from progressive_delivery.readiness import Listing, Row

REVISION = "main@sha1:0123456789abcdef0123456789abcdef01234567"


def obj(name: str, namespace: str = "flux-system", ready: str | None = "True", reason: str = "Succeeded",
        message: str = "", generation: int = 1, observed: int = 1, suspend: bool = False, spec: dict | None = None,
        **status_fields) -> dict:
    conditions = [] if ready is None else [
        {"type": "Ready", "status": ready, "reason": reason, "message": message}]
    return {"metadata": {"name": name, "namespace": namespace, "generation": generation},
            "spec": {**(spec or {}), **({"suspend": True} if suspend else {})},
            "status": {"conditions": conditions, "observedGeneration": observed, **status_fields}}


def canary(phase: str, weight: int = 0, failed: int = 0) -> dict:
    return {"metadata": {"name": "echo-version", "namespace": "applications"},
            "status": {"phase": phase, "canaryWeight": weight, "failedChecks": failed}}


HEALTHY = {
    "GitRepository": [obj("flux-system", artifact={"revision": REVISION})],
    "Kustomization": [obj("apps", lastAppliedRevision=REVISION), obj("flux-system", lastAppliedRevision=REVISION),
                      obj("infrastructure-releases", lastAppliedRevision=REVISION)],
    "HelmRelease": [obj("flagger", "flagger-system", history=[{"chartName": "flagger", "chartVersion": "1.44.0"}]),
                    obj("istiod", "istio-system", history=[{"chartName": "istiod", "chartVersion": "1.27.3"}])],
    "ImageRepository": [obj("echo-version", spec={"image": "k3d-pd-staging-registry:5000/echo-version"},
                            lastScanResult={"tagCount": 3, "scanTime": "2025-01-01T12:00:00Z"})],
    "ImagePolicy": [obj("echo-version", latestRef={"name": "localhost/echo-version", "tag": "1.2.0"})],
    "ImageUpdateAutomation": [obj("echo-version", lastPushTime="2025-01-01T12:01:00Z",
                                  lastPushCommit="abcdef0123456789")],
    "Canary": [canary("Succeeded")],
}


def listings_of(objects: dict) -> list[Listing]:
    return [Listing(kind.name, objects[kind.name]) for kind in readiness.KINDS]


def test_healthy_platform_is_ready_and_shows_the_interesting_detail():
    rows = readiness.table_rows(listings_of(HEALTHY))
    assert readiness.all_ready(rows)
    details = {(r.kind, r.name): r.detail for r in rows}
    assert details[("GitRepository", "flux-system/flux-system")] == "main@sha1:0123456"
    assert details[("Kustomization", "flux-system/apps")] == "applied main@sha1:0123456"
    assert details[("HelmRelease", "flagger-system/flagger")] == "flagger 1.44.0"
    assert details[("ImagePolicy", "flux-system/echo-version")] == "latest image localhost/echo-version:1.2.0"
    assert details[("ImageRepository", "flux-system/echo-version")] == "3 tags, scanned 2025-01-01T12:00:00Z"
    assert details[("ImageUpdateAutomation", "flux-system/echo-version")] == \
        "last push 2025-01-01T12:01:00Z (abcdef0)"
    assert details[("Canary", "applications/echo-version")] == "weight 0%, failed checks 0"
    table = readiness.render(rows)
    assert table.splitlines()[0].split() == ["KIND", "NAME", "STATE", "DETAIL"]
    assert table.splitlines()[-1] == f"{len(rows)}/{len(rows)} ready"


def test_a_failing_helm_release_is_not_ready_with_its_message():
    objects = dict(HEALTHY, HelmRelease=[
        obj("istiod", "istio-system", ready="False", reason="InstallFailed",
            message="Helm install failed:\n  timed out waiting for the condition")])
    rows = readiness.table_rows(listings_of(objects))
    assert not readiness.all_ready(rows)
    (row,) = [r for r in rows if r.kind == "HelmRelease"]
    assert (row.ready, row.state) == (False, "NotReady")
    assert row.detail == "InstallFailed: Helm install failed: timed out waiting for the condition"
    assert f"{len(rows) - 1}/{len(rows)} ready" in readiness.render(rows)


@pytest.mark.parametrize("item,state", [
    (obj("apps", ready="Unknown", reason="Progressing", message="Reconciliation in progress"), "Reconciling"),
    (obj("apps", ready=None), "Pending"),
    (obj("apps", generation=3, observed=2), "Reconciling"),
    (obj("apps", suspend=True), "Suspended"),
])
def test_flux_objects_that_are_not_settled_are_not_ready(item, state):
    row = readiness.summarise("Kustomization", item)
    assert (row.ready, row.state) == (False, state)


@pytest.mark.parametrize("phase,ready", [
    ("Initialized", True), ("Succeeded", True), ("Progressing", False), ("Promoting", False),
    ("Failed", False), ("Waiting", False),
])
def test_canary_phase_decides_its_readiness(phase, ready):
    row = readiness.summarise("Canary", canary(phase, weight=30, failed=1))
    assert (row.state, row.ready) == (phase, ready)
    assert row.detail.startswith("weight 30%, failed checks 1")


def test_a_rolled_back_canary_says_so():
    assert readiness.summarise("Canary", canary("Failed", failed=5)).detail.endswith("last release rolled back")


def test_missing_objects_and_kinds_are_not_ready():
    assert readiness.rows_for(Listing("Canary"))[0].detail == "no object of this kind yet"
    (row,) = readiness.rows_for(Listing("Canary", error="kind not served yet"))
    assert (row.ready, row.state) == (False, "Missing")
    assert not readiness.all_ready([])


def test_long_messages_are_clipped():
    line = readiness.render([Row("HelmRelease", "a/b", False, "NotReady", "x" * 200)]).splitlines()[1]
    assert line.endswith("…") and len(line) < 130


def kubectl_answering(answer) -> Kubectl:
    def runner(argv, **_):
        return answer(next(kind for kind in readiness.KINDS if kind.resource in argv))

    return Kubectl(runner)


def test_collect_lists_every_kind_and_marks_kinds_not_served():
    def answer(kind):
        if kind.name == "Canary":
            return Result(1, "", 'error: the server doesn\'t have a resource type "canaries"')
        if kind.name == "HelmRelease":
            return Result(1, "", 'Error from server (Forbidden): helmreleases is forbidden')
        return Result(0, json.dumps({"items": HEALTHY[kind.name]}))

    listings = readiness.collect(kubectl_answering(answer))
    assert [listing.kind for listing in listings] == [kind.name for kind in readiness.KINDS]
    by_kind = {listing.kind: listing for listing in listings}
    assert by_kind["Canary"].error == "kind not served yet (its controller is not installed)"
    assert "forbidden" in by_kind["HelmRelease"].error
    assert by_kind["Kustomization"].items == HEALTHY["Kustomization"]


@pytest.mark.parametrize("stderr,error", [
    ("Unable to connect to the server: dial tcp 127.0.0.1:6550: connect: connection refused", ClusterUnreachable),
    ("error: You must be logged in to the server (Unauthorized)", KubeconfigUnusable),
])
def test_collect_stops_on_what_concerns_every_kind(stderr, error):
    with pytest.raises(error):
        readiness.collect(kubectl_answering(lambda kind: Result(1, "", stderr)))
