"""The status command (summaries of fabricated Flux and Flagger JSON), and the kubectl/kubeconfig helper."""

from __future__ import annotations

import argparse
import json
import stat
from pathlib import Path

import pytest

from progressive_delivery import kube, status
from progressive_delivery.kube import ClusterUnreachable, KubeconfigSource, Kubectl, Result

REVISION = "main@sha1:0123456789abcdef0123456789abcdef01234567"


def obj(name: str, namespace: str = "flux-system", ready: str | None = "True", reason: str = "Succeeded",
        message: str = "", generation: int = 1, observed: int = 1, suspend: bool = False, **status_fields) -> dict:
    conditions = [] if ready is None else [
        {"type": "Ready", "status": ready, "reason": reason, "message": message}]
    return {"metadata": {"name": name, "namespace": namespace, "generation": generation},
            "spec": {"suspend": True} if suspend else {},
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
    "ImageRepository": [obj("echo-version", lastScanResult={"tagCount": 3, "scanTime": "2025-01-01T12:00:00Z"})],
    "ImagePolicy": [obj("echo-version", latestRef={"name": "localhost/echo-version", "tag": "1.2.0"})],
    "ImageUpdateAutomation": [obj("echo-version", lastPushTime="2025-01-01T12:01:00Z",
                                  lastPushCommit="abcdef0123456789")],
    "Canary": [canary("Succeeded")],
}


def all_rows(listings: dict) -> list[status.Row]:
    return [row for kind in status.KINDS for row in status.rows_for(kind.name, {"items": listings[kind.name]})]


def test_healthy_platform_is_ready_and_shows_the_interesting_detail():
    rows = all_rows(HEALTHY)
    assert status.exit_code(rows) == 0
    details = {(r.kind, r.name): r.detail for r in rows}
    assert details[("GitRepository", "flux-system/flux-system")] == "main@sha1:0123456"
    assert details[("Kustomization", "flux-system/apps")] == "applied main@sha1:0123456"
    assert details[("HelmRelease", "flagger-system/flagger")] == "flagger 1.44.0"
    assert details[("ImagePolicy", "flux-system/echo-version")] == "latest image localhost/echo-version:1.2.0"
    assert details[("ImageRepository", "flux-system/echo-version")] == "3 tags, scanned 2025-01-01T12:00:00Z"
    assert details[("ImageUpdateAutomation", "flux-system/echo-version")] == \
        "last push 2025-01-01T12:01:00Z (abcdef0)"
    assert details[("Canary", "applications/echo-version")] == "weight 0%, failed checks 0"
    table = status.render(rows)
    assert table.splitlines()[0].split() == ["KIND", "NAME", "STATE", "DETAIL"]
    assert table.splitlines()[-1] == f"{len(rows)}/{len(rows)} ready"


def test_a_failing_helm_release_makes_the_status_fail_with_its_message():
    listings = dict(HEALTHY, HelmRelease=[
        obj("istiod", "istio-system", ready="False", reason="InstallFailed",
            message="Helm install failed:\n  timed out waiting for the condition")])
    rows = all_rows(listings)
    assert status.exit_code(rows) == 1
    (row,) = [r for r in rows if r.kind == "HelmRelease"]
    assert (row.ready, row.state) == (False, "NotReady")
    assert row.detail == "InstallFailed: Helm install failed: timed out waiting for the condition"
    assert "1 ready" not in status.render(rows) and f"{len(rows) - 1}/{len(rows)} ready" in status.render(rows)


@pytest.mark.parametrize("item,state", [
    (obj("apps", ready="Unknown", reason="Progressing", message="Reconciliation in progress"), "Reconciling"),
    (obj("apps", ready=None), "Pending"),
    (obj("apps", generation=3, observed=2), "Reconciling"),
    (obj("apps", suspend=True), "Suspended"),
])
def test_flux_objects_that_are_not_settled_are_not_ready(item, state):
    row = status.summarise("Kustomization", item)
    assert (row.ready, row.state) == (False, state)


@pytest.mark.parametrize("phase,ready", [
    ("Initialized", True), ("Succeeded", True), ("Progressing", False), ("Promoting", False),
    ("Failed", False), ("Waiting", False),
])
def test_canary_phase_decides_its_readiness(phase, ready):
    row = status.summarise("Canary", canary(phase, weight=30, failed=1))
    assert (row.state, row.ready) == (phase, ready)
    assert row.detail.startswith("weight 30%, failed checks 1")


def test_a_rolled_back_canary_says_so():
    assert status.summarise("Canary", canary("Failed", failed=5)).detail.endswith("last release rolled back")


def test_missing_objects_and_kinds_are_not_ready():
    assert status.rows_for("Canary", {"items": []})[0].detail == "no object of this kind yet"
    (row,) = status.rows_for("Canary", None, "kind not served yet")
    assert (row.ready, row.state) == (False, "Missing")
    assert status.exit_code([]) == 1


def test_long_messages_are_clipped():
    row = status.Row("HelmRelease", "a/b", False, "NotReady", "x" * 200)
    line = status.render([row]).splitlines()[1]
    assert line.endswith("…") and len(line) < 130


# --------------------------------------------------------------------------- the command

class FakeCluster:
    """A runner answering `k3d kubeconfig get` and `kubectl get <kind> -A -o json` from listings."""

    def __init__(self, listings: dict | None = None, unreachable: bool = False, missing: tuple = ()):
        self.listings, self.unreachable, self.missing = listings or {}, unreachable, missing
        self.calls: list[list[str]] = []
        self.modes: list[int] = []

    def __call__(self, argv, *, env=None, stdin=None, capture=True, timeout=None):
        argv = list(argv)
        self.calls.append(argv)
        if argv[0] == "k3d":
            return Result(0, "apiVersion: v1\nkind: Config\n")
        path = Path(argv[argv.index("--kubeconfig") + 1])
        self.modes.append(stat.S_IMODE(path.stat().st_mode))
        if self.unreachable:
            return Result(1, "", "E0101 memcache.go:265] couldn't get current server API group list\n"
                                 "The connection to the server 127.0.0.1:6550 was refused - did you specify "
                                 "the right host or port?\nUnable to connect to the server: dial tcp "
                                 "127.0.0.1:6550: connect: connection refused")
        kind = next(k for k in status.KINDS if k.resource in argv)
        if kind.name in self.missing:
            return Result(1, "", f'error: the server doesn\'t have a resource type "{kind.resource}"')
        return Result(0, json.dumps({"items": self.listings.get(kind.name, [])}))


def args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    status.register(parser.add_subparsers())
    return parser.parse_args(["status", *argv])


def test_status_command_all_ready_exits_0(capsys):
    cluster = FakeCluster(HEALTHY)
    assert status.handle(args("--stack", "staging"), runner=cluster, env={}) == 0
    out = capsys.readouterr().out
    assert "Canary" in out and "latest image localhost/echo-version:1.2.0" in out
    assert cluster.calls[0] == ["k3d", "kubeconfig", "get", "pd-staging"]
    assert set(cluster.modes) == {0o600}
    kubeconfig = Path(cluster.calls[1][cluster.calls[1].index("--kubeconfig") + 1])
    assert not kubeconfig.exists()
    assert all("--all-namespaces" in call and "json" in call for call in cluster.calls[1:])


def test_status_command_uses_the_production_cluster():
    cluster = FakeCluster(HEALTHY)
    status.handle(args("--stack", "production"), runner=cluster, env={}, out=lambda _: None)
    assert cluster.calls[0] == ["k3d", "kubeconfig", "get", "pd-production"]


def test_status_command_with_a_kind_not_installed_exits_1(capsys):
    cluster = FakeCluster(HEALTHY, missing=("Canary",))
    assert status.handle(args("--stack", "staging"), runner=cluster, env={}) == 1
    assert "kind not served yet" in capsys.readouterr().out


def test_unreachable_cluster_exits_2_with_a_clear_message(capsys):
    assert status.handle(args("--stack", "staging"), runner=FakeCluster(unreachable=True), env={}) == 2
    err = capsys.readouterr().err
    assert "cannot reach the cluster of stack 'staging'" in err
    assert "`pulumi up --stack staging`" in err and "Traceback" not in err


def test_missing_k3d_cluster_exits_2(capsys):
    def runner(argv, **_):
        assert argv[0] == "k3d"
        return Result(1, "", "FATA[0000] failed to get cluster pd-staging: No nodes found for given cluster")

    assert status.handle(args("--stack", "staging"), runner=runner, env={}) == 2
    err = capsys.readouterr().err
    assert "cannot read the kubeconfig of k3d cluster 'pd-staging' (FATA[0000] failed to get cluster" in err
    assert "pass --kubeconfig FILE" in err


# --------------------------------------------------------------------------- kube helper

def test_kubeconfig_is_the_explicit_file_else_the_stacks_own_cluster():
    assert kube.choose_kubeconfig("pd-staging", "/a") == KubeconfigSource("file", "/a")
    assert kube.choose_kubeconfig("pd-staging", None) == KubeconfigSource("k3d", "pd-staging")


def test_k3d_kubeconfig_is_private_and_removed_even_on_error():
    def runner(argv, **_):
        return Result(0, "apiVersion: v1\nkind: Config\n# secret material\n")

    with pytest.raises(RuntimeError), \
            kube.kubeconfig_path(KubeconfigSource("k3d", "pd-staging"), runner, "staging") as path:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert "secret material" in path.read_text()
        raise RuntimeError("boom")
    assert not path.exists()


def test_an_explicit_kubeconfig_must_exist(tmp_path):
    with pytest.raises(ClusterUnreachable, match="no such file"), \
            kube.kubeconfig_path(KubeconfigSource("file", str(tmp_path / "nope")), None, "staging"):
        pass


def test_missing_k3d_is_explained():
    def runner(argv, **_):
        raise kube.ToolMissing(argv[0])

    with pytest.raises(ClusterUnreachable, match="k3d is not installed"), \
            kube.kubeconfig_path(KubeconfigSource("k3d", "pd-staging"), runner, "staging"):
        pass


@pytest.mark.parametrize("stderr,error", [
    ("Unable to connect to the server: dial tcp 127.0.0.1:6550: connect: connection refused",
     kube.ClusterUnreachable),
    ('Error from server (NotFound): canaries.flagger.app "echo-version" not found', kube.NotFound),
    ('error: the server doesn\'t have a resource type "canaries"', kube.UnknownKind),
    ("error: You must be logged in to the server (Unauthorized)", kube.KubeError),
])
def test_kubectl_errors_are_classified(stderr, error):
    assert kube.classify_error(stderr) is error


def test_the_readable_line_of_kubectl_errors_is_kept():
    stderr = ('E1126 23:51:06.689666    1287 memcache.go:265] "Unhandled Error" err="couldn\'t get current '
              'server API group list"\n'
              "The connection to the server 127.0.0.1:6550 was refused - did you specify the right host or port?\n")
    assert kube.error_message(stderr).startswith("The connection to the server 127.0.0.1:6550 was refused")
    assert kube.classify_error(stderr) is kube.ClusterUnreachable


def test_get_json_raises_the_classified_error():
    def runner(argv, **_):
        return Result(1, "", "Unable to connect to the server: i/o timeout")

    with pytest.raises(ClusterUnreachable, match="i/o timeout"):
        Kubectl(runner, Path("/k")).get_json("canaries", "x")


def test_run_process_reports_a_missing_tool_and_passes_stdin():
    with pytest.raises(kube.ToolMissing, match="not installed"):
        kube.run_process(["pd-no-such-program-here"])
    result = kube.run_process(["cat"], stdin="hello")
    assert (result.returncode, result.stdout) == (0, "hello")
