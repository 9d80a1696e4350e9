"""Stacks, and stand-ins for k3d and kubectl behind the Runner interface, shared by the release and status tests."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

from progressive_delivery import config
from progressive_delivery.process import Result


def staging() -> config.Settings:
    return config.load_stack("staging", env={})


def production() -> config.Settings:
    return config.load_stack("production", env={})


def external(repository: str = "ghcr.io/acme/echo-version") -> config.Settings:
    """Staging's settings with an external registry, user `acme`."""
    raw = {"httpPort": 8080, "apiPort": 6550, "registryPort": 5050,
           "imageRepository": repository, "imageRegistryUsername": "acme"}
    return config.build_settings("staging", raw, {})


KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- {name: c, cluster: {server: 'https://127.0.0.1:6550'}}
users:
- {name: u, user: {token: secret-token}}
contexts:
- {name: k, context: {cluster: c, user: u}}
current-context: k
"""
CONNECTION_REFUSED = ("E0101 00:00:00.000000   1 memcache.go:265] couldn't get current server API group list\n"
                      "The connection to the server 127.0.0.1:6550 was refused - did you specify the right host "
                      "or port?\nUnable to connect to the server: dial tcp 127.0.0.1:6550: connect: connection refused")
# `kubectl config view --minify -o json` of KUBECONFIG (secrets redacted, as kubectl prints them).
MINIFIED_VIEW = json.dumps({"kind": "Config", "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6550"}}],
                            "users": [{"name": "u", "user": {"token": "REDACTED"}}], "current-context": "k"})
NO_NODES = "FATA[0000] failed to get cluster pd-staging: No nodes found for given cluster"


def deployment(name: str, image: str) -> dict:
    """A Deployment of echo-version at `image`, with Istio's sidecar beside it."""
    return {"metadata": {"name": name},
            "spec": {"template": {"spec": {"containers": [
                {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.27.0"},
                {"name": "app", "image": image}]}}}}


def cluster_list(*names: str, running: int = 1) -> Result:
    """What `k3d cluster list --output json` prints for clusters of these names."""
    return Result(0, json.dumps([{"name": name, "serversCount": 1, "serversRunning": running} for name in names]))


class FakeTools:
    """A Runner answering k3d from canned results and kubectl through `kubectl(argv)`.

    Records every command, and the mode of each kubeconfig file kubectl is given.
    """

    def __init__(self, kubectl: Callable[[list[str]], Result] | None = None,
                 kubeconfig: Result | None = None, clusters: Result | None = None):
        self.kubectl = kubectl
        self.kubeconfig = kubeconfig or Result(0, KUBECONFIG)
        self.clusters = clusters or cluster_list("pd-staging", "pd-production")
        self.calls: list[list[str]] = []
        self.kubeconfig_modes: list[int] = []

    def __call__(self, argv, *, env=None, stdin=None, capture=True, timeout=None):
        argv = list(argv)
        self.calls.append(argv)
        if argv[:3] == ["k3d", "kubeconfig", "get"]:
            return self.kubeconfig
        if argv[:3] == ["k3d", "cluster", "list"]:
            assert (env or {}).get("LOG_LEVEL") == "warn", "k3d's info logs would mix into its JSON"
            return self.clusters
        if argv[0] == "kubectl" and "config" in argv:
            return Result(0, MINIFIED_VIEW)
        if argv[0] == "kubectl" and self.kubectl is not None:
            if "--kubeconfig" in argv:
                path = Path(argv[argv.index("--kubeconfig") + 1])
                self.kubeconfig_modes.append(stat.S_IMODE(path.stat().st_mode))
            return self.kubectl(argv)
        if argv[0] == "docker" and argv[1] in ("build", "push", "login"):
            return Result(0)
        raise AssertionError(f"unexpected command {argv}")

    def kubeconfig_files(self) -> set[Path]:
        """Every kubeconfig file kubectl was given."""
        return {Path(call[call.index("--kubeconfig") + 1]) for call in self.calls
                if call[0] == "kubectl" and "--kubeconfig" in call}
