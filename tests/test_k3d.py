"""What k3d says about a stack's cluster: gone, stopped, running, or not to be asked (Docker down, no k3d)."""

from __future__ import annotations

import pytest
from release_fixtures import KUBECONFIG, NO_NODES, FakeTools, cluster_list

from progressive_delivery import k3d
from progressive_delivery.k3d import ClusterGone, ClusterState
from progressive_delivery.kube import ClusterUnreachable, KubeError
from progressive_delivery.process import Result, ToolMissing

DOCKER_DOWN = Result(1, "", "FATA[0000] runtime failed to list nodes: Cannot connect to the Docker daemon at "
                            "unix:///var/run/docker.sock. Is the docker daemon running?")


@pytest.mark.parametrize("clusters,state", [
    (cluster_list("pd-staging"), ClusterState.RUNNING),
    (cluster_list("pd-staging", running=0), ClusterState.STOPPED),
    (cluster_list("pd-production"), ClusterState.ABSENT),
    (Result(0, "[]\n"), ClusterState.ABSENT),
])
def test_cluster_state_from_the_cluster_list(clusters, state):
    assert k3d.cluster_state(FakeTools(clusters=clusters), "pd-staging") is state


def test_a_docker_that_does_not_answer_is_not_a_missing_cluster():
    with pytest.raises(ClusterUnreachable) as error:
        k3d.cluster_state(FakeTools(clusters=DOCKER_DOWN), "pd-staging")
    assert not isinstance(error.value, ClusterGone)
    assert "k3d cannot list its clusters (FATA[0000] runtime failed to list nodes" in str(error.value)
    assert str(error.value).endswith("is Docker running?")


def test_output_that_is_no_cluster_list_is_an_error():
    with pytest.raises(KubeError, match="printed no cluster list"):
        k3d.cluster_state(FakeTools(clusters=Result(0, "INFO[0000] hello\n")), "pd-staging")
    odd_count = Result(0, '[{"name": "pd-staging", "serversRunning": "one"}]')
    with pytest.raises(KubeError, match="serversRunning='one' for 'pd-staging', not a count"):
        k3d.cluster_state(FakeTools(clusters=odd_count), "pd-staging")


def test_the_kubeconfig_of_a_running_cluster():
    tools = FakeTools()
    assert k3d.kubeconfig(tools, "pd-staging", "staging") == KUBECONFIG
    assert tools.calls == [["k3d", "kubeconfig", "get", "pd-staging"]]


def test_a_cluster_that_is_gone_names_the_command_that_creates_it():
    tools = FakeTools(kubeconfig=Result(1, "", NO_NODES), clusters=cluster_list("pd-production"))
    with pytest.raises(ClusterGone) as gone:
        k3d.kubeconfig(tools, "pd-staging", "staging")
    assert str(gone.value) == ("k3d cluster 'pd-staging' of stack 'staging' does not exist (k3d lists no cluster of "
                               "that name): it was deleted, or the stack was never brought up; "
                               "`pulumi up --stack staging` creates it")


def test_a_stopped_cluster_names_the_command_that_starts_it():
    tools = FakeTools(kubeconfig=Result(1, "", "some failure"), clusters=cluster_list("pd-staging", running=0))
    with pytest.raises(ClusterUnreachable, match=r"is stopped; start it with `k3d cluster start pd-staging`"):
        k3d.kubeconfig(tools, "pd-staging", "staging")


def test_a_kubeconfig_failure_of_a_running_cluster_keeps_k3ds_reason():
    tools = FakeTools(kubeconfig=Result(1, "", "ERRO[0000] cannot copy the file\n"))
    with pytest.raises(ClusterUnreachable, match=r"cannot read the kubeconfig of k3d cluster 'pd-staging' "
                                                 r"\(ERRO\[0000\] cannot copy the file\); pass --kubeconfig FILE"):
        k3d.kubeconfig(tools, "pd-staging", "staging")


def test_missing_k3d_is_explained():
    def runner(argv, **_):
        raise ToolMissing(argv[0])

    with pytest.raises(KubeError, match="k3d is not installed"):
        k3d.kubeconfig(runner, "pd-staging", "staging")
