"""The cluster and registry scripts, run for real by bash against a stand-in `k3d` on PATH."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from progressive_delivery import cluster

FAKE_K3D = r"""#!/bin/bash
# Stand-in for k3d: records calls, keeps clusters and registries as files.
state="$FAKE_K3D_STATE"
echo "$*" >> "$state/calls"
case "$1 $2" in
  "cluster get") [ -e "$state/cluster-$3" ] ;;
  "cluster create")
    touch "$state/cluster-$3"
    prev=""
    for arg in "$@"; do
      if [ "$prev" = "--registry-config" ]; then cp "$arg" "$state/registries.yaml"; fi
      prev="$arg"
    done
    echo "INFO[0000] cluster $3 created" ;;
  "cluster delete") rm "$state/cluster-$3" ;;
  "kubeconfig get") [ -e "$state/cluster-$3" ] && printf 'apiVersion: v1\nkind: Config\n# %s\n' "$3" ;;
  "registry get") [ -e "$state/registry-$3" ] ;;
  "registry create") touch "$state/registry-k3d-$3"; echo "INFO registry created" ;;
  "registry delete") rm "$state/registry-$3" ;;
  *) echo "unexpected k3d call: $*" >&2; exit 64 ;;
esac
"""

CLUSTER_ENV = {
    "CLUSTER_NAME": "pd-test",
    "K3S_IMAGE": "rancher/k3s:v1.33.5-k3s1",
    "SERVERS": "1",
    "AGENTS": "2",
    "API_PORT": "6550",
    "HTTP_PORT": "8080",
}
REGISTRY_ENV = {
    "REGISTRY_NAME": "pd-test-registry",
    "REGISTRY_CONTAINER": "k3d-pd-test-registry",
    "REGISTRY_PORT": "5050",
    "REGISTRY_MIRROR": "k3d-pd-test-registry:5000",
}


@pytest.fixture
def k3d(tmp_path: Path):
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    fake = bin_dir / "k3d"
    fake.write_text(FAKE_K3D)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)

    def run(script: str, **env: str) -> subprocess.CompletedProcess:
        environment = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_K3D_STATE": str(state), **env}
        return subprocess.run(["/bin/bash", "-c", script], env=environment, capture_output=True,
                              text=True, timeout=30)

    run.state = state
    run.calls = lambda: (state / "calls").read_text().splitlines() if (state / "calls").exists() else []
    return run


def test_create_makes_the_cluster_and_prints_only_the_kubeconfig(k3d):
    result = k3d(cluster.CREATE_CLUSTER, **CLUSTER_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("apiVersion: v1\nkind: Config")
    assert "created" in result.stderr and "created" not in result.stdout
    create = next(call for call in k3d.calls() if call.startswith("cluster create"))
    for expected in ("pd-test", "--image rancher/k3s:v1.33.5-k3s1", "--servers 1", "--agents 2",
                     "--api-port 127.0.0.1:6550", "--port 127.0.0.1:8080:80@loadbalancer",
                     "--k3s-arg --disable=traefik@server:*", "--kubeconfig-update-default=false",
                     "--kubeconfig-switch-context=false", "--wait"):
        assert expected in create
    assert "--registry-use" not in create


def test_create_adopts_an_existing_cluster(k3d):
    (k3d.state / "cluster-pd-test").touch()
    result = k3d(cluster.CREATE_CLUSTER, **CLUSTER_ENV)
    assert result.returncode == 0, result.stderr
    assert "adopting" in result.stderr
    assert not any(call.startswith("cluster create") for call in k3d.calls())
    assert "kind: Config" in result.stdout


def test_create_with_the_local_registry_configures_pulls_from_it(k3d):
    result = k3d(cluster.CREATE_CLUSTER, **CLUSTER_ENV, **REGISTRY_ENV)
    assert result.returncode == 0, result.stderr
    create = next(call for call in k3d.calls() if call.startswith("cluster create"))
    assert "--registry-use k3d-pd-test-registry:5050" in create
    mirrors = (k3d.state / "registries.yaml").read_text()
    assert '"k3d-pd-test-registry:5000"' in mirrors and '"http://k3d-pd-test-registry:5000"' in mirrors


def test_delete_removes_the_cluster_and_succeeds_when_it_is_gone(k3d):
    (k3d.state / "cluster-pd-test").touch()
    assert k3d(cluster.DELETE_CLUSTER, **CLUSTER_ENV).returncode == 0
    assert not (k3d.state / "cluster-pd-test").exists()
    again = k3d(cluster.DELETE_CLUSTER, **CLUSTER_ENV)
    assert again.returncode == 0 and "already gone" in again.stderr


def test_a_failing_create_fails_the_command(k3d, tmp_path):
    failing = tmp_path / "bin" / "k3d"
    failing.write_text("#!/bin/bash\n[ \"$1 $2\" = 'cluster get' ] && exit 1\n"
                       "echo 'docker is not running' >&2\nexit 1\n")
    result = k3d(cluster.CREATE_CLUSTER, **CLUSTER_ENV)
    assert result.returncode != 0
    assert "docker is not running" in result.stderr and result.stdout == ""


def test_registry_is_created_adopted_and_deleted(k3d):
    assert k3d(cluster.CREATE_REGISTRY, **REGISTRY_ENV).returncode == 0
    assert "registry create pd-test-registry --port 127.0.0.1:5050" in k3d.calls()
    adopted = k3d(cluster.CREATE_REGISTRY, **REGISTRY_ENV)
    assert adopted.returncode == 0 and "adopting" in adopted.stderr
    assert k3d(cluster.DELETE_REGISTRY, **REGISTRY_ENV).returncode == 0
    assert not (k3d.state / "registry-k3d-pd-test-registry").exists()
    gone = k3d(cluster.DELETE_REGISTRY, **REGISTRY_ENV)
    assert gone.returncode == 0 and "already gone" in gone.stderr
