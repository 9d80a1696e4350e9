"""The cluster scripts, run for real by bash against stand-in `k3d` and `docker` commands on PATH."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from toolpath import system_path_without

from progressive_delivery import cluster

# Containers are files named after them, holding their identity label ("" for none).
FAKE_DOCKER = r"""#!/bin/bash
state="$FAKE_STATE"
echo "docker $*" >> "$state/calls"
if [ -e "$state/docker-down" ]; then
  echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
  exit 1
fi
if [ "$1" = "info" ]; then
  cat "$state/docker-name" 2>/dev/null || echo docker-desktop
  exit 0
fi
if [ "$1 $2" = "container inspect" ]; then
  name="${*: -1}"
  if [ -e "$state/container-$name" ]; then
    label=$(cat "$state/container-$name")
    echo "${label:-<no value>}"
    exit 0
  fi
  echo "Error response from daemon: No such container: $name" >&2
  exit 1
fi
echo "unexpected docker call: $*" >&2
exit 64
"""

FAKE_K3D = r"""#!/bin/bash
state="$FAKE_STATE"
echo "k3d $*" >> "$state/calls"
echo "${K3D_FIX_DNS:-unset}" > "$state/fix-dns"
case "$1 $2" in
  "cluster create")
    name="$3"; label=""; registry=""; prev=""
    for arg in "$@"; do
      [ "$prev" = "--runtime-label" ] && [ -z "$label" ] && label="${arg#*=}" && label="${label%@*}"
      [ "$prev" = "--registry-create" ] && registry="${arg%%:*}"
      prev="$arg"
    done
    printf '%s' "$label" > "$state/container-k3d-$name-server-0"
    [ -n "$registry" ] && : > "$state/container-$registry"
    echo "INFO[0000] cluster $name created" ;;
  "cluster delete") rm -f "$state/container-k3d-$3-server-0" "$state"/container-k3d-"$3"-registry ;;
  "kubeconfig get") [ -e "$state/container-k3d-$3-server-0" ] && printf 'apiVersion: v1\nkind: Config\n# %s\n' "$3" ;;
  *) echo "unexpected k3d call: $*" >&2; exit 64 ;;
esac
"""

ENVIRONMENT = {
    "STACK": "test",
    "IDENTITY_LABEL": cluster.STACK_LABEL,
    "INSTANCE_LABEL": cluster.INSTANCE_LABEL,
    "INSTANCE": "4f2a9c",
    "CLUSTER_NAME": "pd-test",
    "K3S_IMAGE": "rancher/k3s:v1.36.4-k3s1",
    "SERVERS": "1",
    "AGENTS": "2",
    "API_PORT": "6550",
    "HTTP_PORT": "8080",
}
REGISTRY = {"REGISTRY_CONTAINER": "k3d-pd-test-registry", "REGISTRY_PORT": "5050"}
SERVER = "container-k3d-pd-test-server-0"

Runner = Callable[..., subprocess.CompletedProcess]


class Machine:
    """A PATH with the stand-ins and the state they keep."""

    def __init__(self, root: Path):
        self.root = root
        self.bin = root / "bin"
        self.state = root / "state"
        self.bin.mkdir()
        self.state.mkdir()
        for name, text in (("docker", FAKE_DOCKER), ("k3d", FAKE_K3D)):
            path = self.bin / name
            path.write_text(text)
            path.chmod(path.stat().st_mode | stat.S_IEXEC)

    def run(self, script: str, **env: str) -> subprocess.CompletedProcess:
        environment = {"PATH": f"{self.bin}:{os.environ['PATH']}", "FAKE_STATE": str(self.state),
                       **ENVIRONMENT, **env}
        return subprocess.run(["/bin/bash", "-c", script], env=environment, capture_output=True, text=True,
                              timeout=30)

    def calls(self, program: str = "k3d") -> list[str]:
        path = self.state / "calls"
        lines = path.read_text().splitlines() if path.exists() else []
        return [line.removeprefix(f"{program} ") for line in lines if line.startswith(f"{program} ")]

    def container(self, name: str, label: str = "") -> None:
        (self.state / name).write_text(label)


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


def test_create_makes_the_labelled_cluster_and_prints_only_the_kubeconfig(machine):
    result = machine.run(cluster.CREATE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("apiVersion: v1\nkind: Config")
    assert "created" in result.stderr and "created" not in result.stdout
    create = next(call for call in machine.calls() if call.startswith("cluster create"))
    for expected in ("pd-test", "--image rancher/k3s:v1.36.4-k3s1", "--servers 1", "--agents 2",
                     "--api-port 127.0.0.1:6550", "--port 127.0.0.1:8080:80@loadbalancer",
                     "--k3s-arg --disable=traefik@server:*", "--kubeconfig-update-default=false",
                     "--kubeconfig-switch-context=false", "--wait",
                     f"--runtime-label {cluster.STACK_LABEL}=test@server:*",
                     f"--runtime-label {cluster.INSTANCE_LABEL}=4f2a9c@server:*"):
        assert expected in create
    assert "--registry-create" not in create
    assert (machine.state / SERVER).read_text() == "test"


def test_create_keeps_the_registry_resolvable_after_restarts_except_on_colima(machine):
    assert machine.run(cluster.CREATE).returncode == 0
    assert (machine.state / "fix-dns").read_text().strip() == "1"
    (machine.state / SERVER).unlink()
    (machine.state / "docker-name").write_text("colima\n")
    assert machine.run(cluster.CREATE).returncode == 0
    assert (machine.state / "fix-dns").read_text().strip() == "unset"


def test_create_with_the_local_registry_creates_it_with_the_cluster(machine):
    result = machine.run(cluster.CREATE, **REGISTRY)
    assert result.returncode == 0, result.stderr
    create = next(call for call in machine.calls() if call.startswith("cluster create"))
    assert "--registry-create k3d-pd-test-registry:127.0.0.1:5050" in create


def test_create_adopts_only_this_stacks_cluster(machine):
    machine.container(SERVER, "test")
    adopted = machine.run(cluster.CREATE)
    assert adopted.returncode == 0, adopted.stderr
    assert "belongs to stack test: adopting it" in adopted.stderr and "kind: Config" in adopted.stdout
    assert not any(call.startswith("cluster create") for call in machine.calls())

    machine.container(SERVER, "production")
    refused = machine.run(cluster.CREATE)
    assert refused.returncode != 0 and refused.stdout == ""
    assert "does not belong to stack test (its progressive-delivery.stack label: production)" in refused.stderr
    machine.container(SERVER, "")
    unlabelled = machine.run(cluster.CREATE)
    assert unlabelled.returncode != 0 and "label: <no value>" in unlabelled.stderr
    assert not any(call.startswith("cluster create") for call in machine.calls())


def test_create_refuses_a_foreign_container_under_the_registry_name(machine):
    machine.container("container-k3d-pd-test-registry", "")
    result = machine.run(cluster.CREATE, **REGISTRY)
    assert result.returncode != 0
    assert "a container named k3d-pd-test-registry already exists" in result.stderr
    assert not any(call.startswith("cluster create") for call in machine.calls())


def test_delete_removes_only_this_stacks_cluster_and_accepts_one_already_gone(machine):
    machine.container(SERVER, "test")
    assert machine.run(cluster.DELETE).returncode == 0
    assert "cluster delete pd-test" in machine.calls()
    again = machine.run(cluster.DELETE)
    assert again.returncode == 0 and "already gone" in again.stderr

    machine.container(SERVER, "staging")
    foreign = machine.run(cluster.DELETE)
    assert foreign.returncode != 0 and "not deleting it" in foreign.stderr
    assert (machine.state / SERVER).exists()


def test_with_docker_down_nothing_counts_as_gone(machine):
    machine.container(SERVER, "test")
    (machine.state / "docker-down").touch()
    for script in (cluster.CREATE, cluster.DELETE):
        result = machine.run(script)
        assert result.returncode != 0, "a failure to ask Docker must fail, so the state keeps the cluster"
        assert "Cannot connect to the Docker daemon" in result.stderr and result.stdout == ""
    assert machine.calls() == [], "k3d must not be asked to create or delete anything"


def test_with_k3d_missing_this_stacks_cluster_is_not_counted_as_deleted(machine):
    machine.container(SERVER, "test")
    (machine.bin / "k3d").unlink()
    result = machine.run(cluster.DELETE, PATH=f"{machine.bin}:{system_path_without(machine.root / 'system')}")
    assert result.returncode != 0 and "k3d: command not found" in result.stderr
    assert (machine.state / SERVER).exists()


def test_with_docker_missing_nothing_counts_as_gone(machine):
    machine.container(SERVER, "test")
    (machine.bin / "docker").unlink()
    result = machine.run(cluster.DELETE, PATH=f"{machine.bin}:{system_path_without(machine.root / 'system')}")
    assert result.returncode != 0 and (machine.state / SERVER).exists()


def test_a_failing_create_fails_the_command(machine):
    failing = machine.bin / "k3d"
    failing.write_text("#!/bin/bash\necho 'failed to create cluster: port is already allocated' >&2\nexit 1\n")
    result = machine.run(cluster.CREATE)
    assert result.returncode != 0
    assert "port is already allocated" in result.stderr and result.stdout == ""


def test_what_docker_says_of_the_server_container():
    from progressive_delivery.process import Result, ToolMissing

    def answering(result: Result):
        return lambda argv, **_: result

    def missing(argv, **_):
        raise ToolMissing(argv[0])

    labels = '{"progressive-delivery.stack": "test", "progressive-delivery.instance": "4f2a9c", "app": "k3d"}'
    assert cluster.server_labels(answering(Result(0, labels)), "pd-test")["progressive-delivery.instance"] == "4f2a9c"
    assert cluster.server_labels(answering(Result(1, "", "Error: No such container: k3d-pd-test-server-0")),
                                 "pd-test") == {}
    assert cluster.server_labels(answering(Result(1, "", "Cannot connect to the Docker daemon")), "pd-test") is None
    assert cluster.server_labels(missing, "pd-test") is None
