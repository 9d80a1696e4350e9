"""Reading one stack's settings: validated once, every problem reported together.

Settings come from the stack's `Pulumi.<stack>.yaml` (keys under the
`progressive-delivery:` namespace) and, for secrets and the repository owner,
from the environment. Each problem names its key and what to change; nothing
is registered while any remains.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import semver

from . import names, pins
from .project import APP_NAME, APP_SOURCE, PROJECT, PROJECT_ROOT
from .refname import branch_name_problem
from .setting_reader import SettingReader, key
from .settings import (
    CLUSTER_PROVIDERS,
    EXISTING,
    K3D,
    K3D_GATEWAY_SERVICE_TYPE,
    LOCAL_REGISTRY,
    REGISTRY_CONTAINER_PORT,
    ExistingClusterSettings,
    GatewaySettings,
    K3dClusterSettings,
    RegistrySettings,
    RepositorySettings,
    Settings,
    host_port_keys,
)
from .stack_files import (
    StackFileError,
    available_stacks,
    collisions,
    footprint_of,
    other_footprints,
    plain_secrets,
    read_stack_file,
    stack_file,
)
from .versions import policy_for

__all__ = [
    "APP_NAME", "APP_SOURCE", "GIT_SYNC_INTERVAL_SECONDS", "KNOWN_HOSTS_FILE", "PROJECT", "PROJECT_ROOT",
    "REGISTRY_CONTAINER_PORT", "REGISTRY_PASSWORD_VARIABLE", "SecretInputs", "Settings", "SettingsError",
    "available_stacks", "build_settings", "load_from_pulumi", "load_stack", "read_stack_file", "stack_file",
]

# Environment variable that carries the password of an external image registry.
REGISTRY_PASSWORD_VARIABLE = "IMAGE_REGISTRY_PASSWORD"
# How often Flux fetches the stack's repository (the flux-system GitRepository).
GIT_SYNC_INTERVAL_SECONDS = 30
KNOWN_HOSTS_FILE = Path(__file__).resolve().parent / "github_known_hosts"

# Kubernetes minors the pinned Flux and Istio releases both support.
SUPPORTED_KUBERNETES = ((1, 32), (1, 36))

VISIBILITIES = ("private", "internal", "public")
ON_DESTROY = ("delete", "archive")
GATEWAY_SERVICE_TYPES = ("LoadBalancer", "NodePort", "ClusterIP")
_K3S_IMAGE = re.compile(r"^(?P<repo>[a-z0-9./_-]+):v(?P<major>[0-9]+)\.(?P<minor>[0-9]+)\.(?P<patch>[0-9]+)-k3s[0-9]+$")
_FLUX_VERSION = re.compile(r"^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_IMAGE_REPOSITORY = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._/-][a-z0-9]+)*)+$")

# Keys of the `progressive-delivery:` namespace with their defaults: None means
# "no default"; a callable computes the default from the stack name.
DEFAULTS: dict[str, Any] = {
    "clusterProvider": K3D,
    "clusterName": lambda stack: f"pd-{stack}",
    "clusterServers": 1,
    "clusterAgents": 2,
    "k3sImage": pins.k3s_image(),
    "httpPort": None,
    "apiPort": None,
    "registryPort": None,
    "kubeconfigPath": None,
    "kubeContext": None,
    "gatewayServiceType": "LoadBalancer",
    "gatewayServiceAnnotations": None,
    "publicHost": None,
    "repositoryOwner": None,
    "repositoryName": lambda stack: f"{PROJECT}-{stack}",
    "repositoryVisibility": "private",
    "repositoryBranch": "main",
    "repositoryOnDestroy": "delete",
    "fluxVersion": pins.pin("flux").version,
    "imageRepository": LOCAL_REGISTRY,
    "imageRegistryUsername": None,
    "appVersion": "0.1.0",
    "appPathPrefix": "/echo/",
    "grafanaHost": "grafana.localhost",
    "readyTimeoutMinutes": 30,
}
SECRET_KEYS = ("imageRegistryPassword", "kubeconfig")
# Settings that only make sense for one kind of cluster.
K3D_ONLY = ("clusterServers", "clusterAgents", "k3sImage", "httpPort", "apiPort", "registryPort")
EXISTING_ONLY = ("kubeconfigPath", "kubeContext", "gatewayServiceType", "gatewayServiceAnnotations", "publicHost")


class SettingsError(Exception):
    """Raised when a stack's settings are invalid; the message lists every problem."""

    def __init__(self, stack: str, problems: list[str]):
        self.stack = stack
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"Invalid settings for stack '{stack}':\n{lines}")


@dataclass(frozen=True)
class SecretInputs:
    """What the program knows of the secrets it needs (values only where they must be checked)."""

    github_token: str | None
    registry_password: bool
    kubeconfig: bool


def build_settings(stack: str, raw: Mapping[str, Any], env: Mapping[str, str],
                   secrets: SecretInputs | None = None, others: Sequence[Any] = ()) -> Settings:
    """Validate raw settings of one stack and return them typed, or raise SettingsError.

    `secrets` is None where they are not needed (the CLI); `others` are the
    footprints of the other stack files, which this stack must not collide with.
    """
    r = SettingReader(stack, raw, DEFAULTS)
    for name in sorted(set(raw) - set(DEFAULTS) - set(SECRET_KEYS)):
        r.fail(name, f"is not a setting of this program; known settings: {', '.join(sorted(DEFAULTS))}")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", stack):
        r.problems.append(f"stack name '{stack}': use lower-case letters, digits and '-'")
    r.check_hygiene()

    provider = r.choice("clusterProvider", CLUSTER_PROVIDERS)
    cluster_name = r.text("clusterName", names.cluster_name_problem)
    registry_port = None
    if provider == EXISTING:
        cluster: Any = _existing_cluster(r, cluster_name, secrets)
        gateway = _gateway(r)
    else:
        cluster, registry_port = _k3d_cluster(r, cluster_name)
        gateway = GatewaySettings(K3D_GATEWAY_SERVICE_TYPE)

    owner = str(r.value("repositoryOwner") or env.get("GITHUB_OWNER", ""))
    if not owner and secrets is not None:
        r.fail("repositoryOwner", "no repository owner: set it with `pulumi config set "
                                  f"{key('repositoryOwner')} <user-or-org>` or export GITHUB_OWNER")
    elif owner and "repositoryOwner" not in r.tainted and (problem := names.owner_problem(owner)):
        r.fail("repositoryOwner", f"'{owner}' is not a GitHub user or organisation name: {problem}")
    repository = RepositorySettings(
        owner=owner,
        name=r.text("repositoryName", names.repository_name_problem),
        visibility=r.choice("repositoryVisibility", VISIBILITIES),
        branch=r.text("repositoryBranch", branch_name_problem),
        on_destroy=r.choice("repositoryOnDestroy", ON_DESTROY),
    )
    flux_version = r.text("fluxVersion", lambda v: None if _FLUX_VERSION.match(v)
                          else f"pin a Flux release such as {pins.pin('flux').version}")
    app_version = r.text("appVersion", lambda v: _app_version_problem(stack, v))
    registry = _registry(r, provider, secrets, registry_port)
    settings = Settings(
        stack=stack, cluster=cluster, gateway=gateway, repository=repository, registry=registry,
        flux_version=flux_version, app_version=app_version,
        app_path_prefix=r.text("appPathPrefix", names.path_prefix_problem),
        grafana_host=r.text("grafanaHost", names.hostname_problem),
        ready_timeout_minutes=r.integer("readyTimeoutMinutes", 5, 120,
                                        "minutes to wait for Flux to be Ready, 5 to 120"),
    )
    if secrets is not None:
        _check_token(r, secrets.github_token)
    if others:
        mine = footprint_of(stack, r.value, owner)
        for name, problem in collisions(mine, list(others), key):
            r.fail(name, problem)
    if r.problems:
        raise SettingsError(stack, r.problems)
    return settings


def _k3d_cluster(r: SettingReader, name: str) -> tuple[K3dClusterSettings, int | None]:
    """The cluster's shape, and the local registry's host port (None with an external registry)."""
    r.refuse(EXISTING_ONLY, "applies only to clusterProvider existing")
    if r.given("kubeconfig"):
        r.fail("kubeconfig", "applies only to clusterProvider existing (a k3d cluster's kubeconfig comes from k3d)")
    servers = r.integer("clusterServers", 1, 7, "a k3d cluster needs 1 to 7 servers (use an odd number for HA)")
    agents = r.integer("clusterAgents", 0, 20, "use 0 (workloads run on the server) to 20 agents")
    k3s_image = r.text("k3sImage", _k3s_image_problem)
    hint = "use a free host port between 1024 and 65535"
    local_registry = r.value("imageRepository") == LOCAL_REGISTRY
    ports = {setting: r.integer(setting, 1024, 65535, hint) for setting in host_port_keys(local_registry)}
    if not local_registry:
        r.refuse(["registryPort"], "applies only to the local registry (imageRepository: local)")
    seen: dict[int, str] = {}
    for setting, port in ports.items():
        if port in seen and setting not in r.tainted:
            r.fail(setting, f"port {port} is also used by {key(seen[port])}; every host port must be distinct")
        seen.setdefault(port, setting)
    return (K3dClusterSettings(name, servers, agents, k3s_image, ports["httpPort"], ports["apiPort"]),
            ports.get("registryPort"))


def _gateway(r: SettingReader) -> GatewaySettings:
    """How an existing cluster exposes the gateway; without a load balancer, its host name is needed."""
    service_type = r.choice("gatewayServiceType", GATEWAY_SERVICE_TYPES)
    public_host = r.optional_text("publicHost", names.hostname_problem)
    if service_type and service_type != K3D_GATEWAY_SERVICE_TYPE and public_host is None:
        r.fail("publicHost", f"is required with gatewayServiceType {service_type}: only a load balancer has an "
                             "address the program can read; give the host name that reaches the gateway")
    grafana_host = str(r.value("grafanaHost") or "")
    if not r.given("grafanaHost") or grafana_host == "localhost" or grafana_host.endswith(".localhost"):
        r.fail("grafanaHost", "is required on an existing cluster, and not a .localhost name: give the host name "
                              "(pointing at the gateway) Grafana answers on, e.g. grafana.example.com")
    return GatewaySettings(service_type, r.string_map("gatewayServiceAnnotations"), public_host)


def _existing_cluster(r: SettingReader, name: str, secrets: SecretInputs | None) -> ExistingClusterSettings:
    r.refuse(K3D_ONLY, "applies only to clusterProvider k3d (an existing cluster's shape is its own)")
    # The file is read by the program only; other commands and stacks do not need it on this machine.
    path = r.optional_text("kubeconfigPath", names.readable_file_problem if secrets is not None else None)
    inline = secrets.kubeconfig if secrets is not None else False
    if path and inline:
        r.fail("kubeconfigPath", f"both it and the secret {key('kubeconfig')} are set; keep one")
    elif not path and not inline and secrets is not None:
        r.fail("kubeconfig", "clusterProvider existing needs the cluster's kubeconfig: `pulumi config set --secret "
                             f"{key('kubeconfig')} < FILE`, or `pulumi config set {key('kubeconfigPath')} FILE` "
                             "to read it at run time")
    return ExistingClusterSettings(name, path, r.optional_text("kubeContext", names.context_problem))


def _registry(r: SettingReader, provider: str, secrets: SecretInputs | None, port: int | None) -> RegistrySettings:
    repository = r.text("imageRepository")
    username = r.value("imageRegistryUsername")
    if repository == LOCAL_REGISTRY:
        if provider == EXISTING:
            r.fail("imageRepository", "an existing cluster has no local registry beside it; give an external "
                                      "repository such as ghcr.io/<owner>/echo-version")
        return RegistrySettings(repository, port, None)
    if repository and not _IMAGE_REPOSITORY.match(repository):
        r.fail("imageRepository", f"'{repository}' is neither 'local' nor an image repository "
                                  "such as ghcr.io/<owner>/echo-version")
    if not username:
        r.fail("imageRegistryUsername", f"is required when {key('imageRepository')} is an external registry")
    if secrets is not None and not secrets.registry_password:
        r.fail("imageRegistryPassword", "is required when the image registry is external; set it with `pulumi "
                                        f"config set --secret {key('imageRegistryPassword')}` (it asks for the value)")
    return RegistrySettings(repository, None, str(username) if username else None)


def _k3s_image_problem(value: str) -> str | None:
    match = _K3S_IMAGE.match(value)
    if not match:
        return f"pin a k3s image such as {pins.k3s_image()}"
    minor = (int(match["major"]), int(match["minor"]))
    low, high = SUPPORTED_KUBERNETES
    if not low <= minor <= high:
        return (f"it runs Kubernetes {minor[0]}.{minor[1]}; the pinned Flux and Istio releases support "
                f"{low[0]}.{low[1]} to {high[0]}.{high[1]}")
    return None


def _app_version_problem(stack: str, version: str) -> str | None:
    if not semver.Version.is_valid(version):
        return "use a semantic version such as 0.1.0"
    policy = policy_for(stack)
    if not policy.accepts(version):
        return f"it would never be deployed: the {stack} image policy picks {policy.describe()} only"
    return None


def _check_token(r: SettingReader, token: str | None) -> None:
    if not token:
        r.problems.append("github:token: no GitHub token; export GITHUB_TOKEN or run "
                          "`pulumi config set --secret github:token` (it asks for the value) "
                          "(a token with the 'repo' scope, or fine-grained with Administration "
                          "and Contents read-write)")
    elif names.hygiene_problem(token):
        r.problems.append("github:token: the token has surrounding whitespace or a line break; "
                          "set it again without them")


def load_stack(stack: str, root: Path = PROJECT_ROOT, env: Mapping[str, str] | None = None) -> Settings:
    """Settings of a stack read from its file, for the CLI (secrets are not needed there)."""
    env = os.environ if env is None else env
    try:
        raw = read_stack_file(stack, root)
    except StackFileError as error:
        raise SettingsError(stack, [str(error)]) from None
    return build_settings(stack, raw, env, others=other_footprints(stack, env.get("GITHUB_OWNER", ""), DEFAULTS, root))


def load_from_pulumi() -> Settings:
    """Settings of the running Pulumi stack: the program's single entry point to config."""
    import pulumi

    config = pulumi.Config(PROJECT)
    stack = pulumi.get_stack()
    raw: dict[str, Any] = {}
    for name in DEFAULTS:
        value = config.get_object(name) if name == "gatewayServiceAnnotations" else config.get(name)
        if value is not None:
            raw[name] = value
    # Keys written in the stack file but unknown to the program are reported too.
    with contextlib.suppress(StackFileError):
        raw.update({k: v for k, v in read_stack_file(stack).items() if k not in DEFAULTS})
    plain = plain_secrets(stack, [*(key(name) for name in SECRET_KEYS), "github:token"])
    if plain:
        raise SettingsError(stack, [f"{name}: is in {stack_file(stack).name} in plain text; remove it there and "
                                    f"set it with `pulumi config set --secret {name}` (it asks for the value)"
                                    for name in plain])
    secrets = SecretInputs(github_token=github_token(),
                           registry_password=config.get("imageRegistryPassword") is not None,
                           kubeconfig=config.get("kubeconfig") is not None)
    if secrets.kubeconfig:
        raw["kubeconfig"] = "(secret)"
    return build_settings(stack, raw, os.environ, secrets,
                          others=other_footprints(stack, os.environ.get("GITHUB_OWNER", ""), DEFAULTS))


def github_token() -> str | None:
    """The stack's GitHub token: GITHUB_TOKEN, else the `github:token` secret (plain, for checks only)."""
    import pulumi

    return os.environ.get("GITHUB_TOKEN") or pulumi.Config("github").get("token")
