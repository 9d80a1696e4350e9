"""kubectl: its failures classified, and the kubeconfig read by kubectl's own loader."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from release_fixtures import KUBECONFIG

from progressive_delivery import kube
from progressive_delivery.kube import ClusterUnreachable, KubeconfigUnusable, Kubectl
from progressive_delivery.process import Result, ToolMissing, run_process

needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


@pytest.mark.parametrize("stderr,error", [
    ("Unable to connect to the server: dial tcp 127.0.0.1:6550: connect: connection refused", ClusterUnreachable),
    ('Error from server (NotFound): canaries.flagger.app "echo-version" not found', kube.NotFound),
    ('error: the server doesn\'t have a resource type "canaries"', kube.UnknownKind),
    ("error: You must be logged in to the server (Unauthorized)", KubeconfigUnusable),
    ('error: error loading config file "/etc/passwd": couldn\'t get version/kind', KubeconfigUnusable),
    ('Error from server (Forbidden): canaries.flagger.app is forbidden', kube.KubeError),
])
def test_kubectl_errors_are_classified(stderr, error):
    assert kube.classify_error(stderr) is error


def test_the_readable_line_of_kubectl_errors_is_kept():
    stderr = ('E1126 23:51:06.689666    1287 memcache.go:265] "Unhandled Error" err="couldn\'t get current '
              'server API group list"\n'
              "The connection to the server 127.0.0.1:6550 was refused - did you specify the right host or port?\n")
    assert kube.error_message(stderr).startswith("The connection to the server 127.0.0.1:6550 was refused")
    assert kube.classify_error(stderr) is ClusterUnreachable


def test_get_json_raises_the_classified_error():
    def runner(argv, **_):
        return Result(1, "", "Unable to connect to the server: i/o timeout")

    with pytest.raises(ClusterUnreachable, match="i/o timeout"):
        Kubectl(runner, Path("/k")).get_json("canaries", "x")


def test_missing_kubectl_makes_the_kubeconfig_unusable():
    def runner(argv, **_):
        raise ToolMissing(argv[0])

    with pytest.raises(KubeconfigUnusable, match="kubectl is not installed"):
        Kubectl(runner).get_json("canaries")


def test_a_view_without_a_server_is_unusable():
    def runner(argv, **_):
        return Result(0, '{"clusters": [{"name": "c", "cluster": {}}]}')

    with pytest.raises(KubeconfigUnusable, match="names no cluster with a server address"):
        Kubectl(runner).current_server()


@needs_kubectl
def test_current_server_comes_from_kubectls_own_loader(tmp_path):
    good = tmp_path / "config"
    good.write_text(KUBECONFIG)
    assert Kubectl(run_process, good).current_server() == "https://127.0.0.1:6550"
    no_context = tmp_path / "no-context"
    no_context.write_text(KUBECONFIG.replace("current-context: k", ""))
    with pytest.raises(KubeconfigUnusable, match="current-context must exist"):
        Kubectl(run_process, no_context).current_server()
    with pytest.raises(KubeconfigUnusable, match="error loading config file"):
        Kubectl(run_process, Path("/etc/passwd")).current_server()
