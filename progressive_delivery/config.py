"""One typed, validated settings object per stack.

Settings come from the stack's `Pulumi.<stack>.yaml` (keys under the
`progressive-delivery:` namespace) and, for secrets and the repository owner,
from the environment. They are validated once, before any resource is
registered; every problem found is reported together, each naming its key
and what to change.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import semver
import yaml

from .versions import policy_for

PROJECT = "progressive-delivery"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Kubernetes minor version the k3s image must at least carry.
MIN_KUBERNETES = (1, 33)

_CLUSTER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_REPOSITORY_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_OWNER = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,38})$")
_BRANCH = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)(?!.*@\{)[A-Za-z0-9._/-]+(?<!/)(?<!\.lock)(?<!\.)$")
_FLUX_VERSION = re.compile(r"^v\d+\.\d+\.\d+$")
_K3S_IMAGE = re.compile(r"^(?P<repo>[a-z0-9./_-]+):v(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)-k3s\d+$")
_IMAGE_REPOSITORY = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._/-][a-z0-9]+)*)+$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PATH_PREFIX = re.compile(r"^/[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*/$")

VISIBILITIES = ("private", "internal", "public")
LOCAL_REGISTRY = "local"
APP_NAME = "echo-version"
APP_SOURCE = PROJECT_ROOT / "applications" / APP_NAME
# Environment variable that carries the password of an external image registry.
REGISTRY_PASSWORD_VARIABLE = "IMAGE_REGISTRY_PASSWORD"
# Port the registry container listens on inside the cluster network.
REGISTRY_CONTAINER_PORT = 5000
# Port echo-version listens on in its container (the Dockerfile and the manifests agree).
APP_PORT = 8080
# How often Flux fetches the stack's repository (the flux-system GitRepository).
GIT_SYNC_INTERVAL_SECONDS = 30
KNOWN_HOSTS_FILE = Path(__file__).resolve().parent / "github_known_hosts"


class SettingsError(Exception):
    """Raised when a stack's settings are invalid; the message lists every problem."""

    def __init__(self, stack: str, problems: list[str]):
        self.stack = stack
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"Invalid settings for stack '{stack}':\n{lines}")


@dataclass(frozen=True)
class ClusterSettings:
    """Shape of the k3d cluster and the host ports it binds."""

    name: str
    servers: int
    agents: int
    k3s_image: str
    http_port: int
    api_port: int

    @property
    def kube_context(self) -> str:
        return f"k3d-{self.name}"


@dataclass(frozen=True)
class RegistrySettings:
    """Where the echo-version image lives.

    `local` runs a registry container beside the cluster on `port`; anything
    else is an external repository such as `ghcr.io/acme/echo-version`.
    """

    repository: str
    port: int
    username: str | None

    @property
    def is_local(self) -> bool:
        return self.repository == LOCAL_REGISTRY

    def container_name(self, cluster_name: str) -> str:
        """Docker container name k3d gives the local registry (it adds `k3d-`)."""
        return f"k3d-{cluster_name}-registry"

    def push_repository(self, cluster_name: str) -> str:
        """Image repository as seen from the host that builds and pushes."""
        if self.is_local:
            return f"localhost:{self.port}/{APP_NAME}"
        return self.repository

    def cluster_repository(self, cluster_name: str) -> str:
        """Image repository as seen from inside the cluster (kubelet and Flux)."""
        if self.is_local:
            return f"{self.container_name(cluster_name)}:{REGISTRY_CONTAINER_PORT}/{APP_NAME}"
        return self.repository

    @property
    def server(self) -> str:
        """Registry host of the external repository (e.g. `ghcr.io`)."""
        return self.repository.split("/", 1)[0]


@dataclass(frozen=True)
class RepositorySettings:
    """The GitHub repository Flux syncs from."""

    owner: str
    name: str
    visibility: str
    branch: str

    @property
    def ssh_url(self) -> str:
        return f"ssh://git@github.com/{self.owner}/{self.name}.git"


@dataclass(frozen=True)
class Settings:
    """Everything one stack needs, validated."""

    stack: str
    cluster: ClusterSettings
    repository: RepositorySettings
    registry: RegistrySettings
    flux_version: str
    app_version: str
    app_path_prefix: str
    grafana_host: str
    ready_timeout_minutes: int

    @property
    def flux_install_url(self) -> str:
        return f"https://github.com/fluxcd/flux2/releases/download/{self.flux_version}/install.yaml"

    @property
    def flux_path(self) -> str:
        """Path in the repository that the flux-system Kustomization applies."""
        return f"./clusters/{self.stack}"

    @property
    def app_url(self) -> str:
        return f"http://localhost:{self.cluster.http_port}{self.app_path_prefix}version"

    @property
    def grafana_url(self) -> str:
        return f"http://{self.grafana_host}:{self.cluster.http_port}/"

    def flux_substitutions(self) -> dict[str, str]:
        """Values Flux substitutes into the platform tree (post-build), as strings."""
        return {
            "cluster_env": self.stack,
            "cluster_name": self.cluster.name,
            "image_repository": self.registry.cluster_repository(self.cluster.name),
            "image_registry_insecure": "true" if self.registry.is_local else "false",
            "app_path_prefix": self.app_path_prefix,
            "grafana_host": self.grafana_host,
            "git_branch": self.repository.branch,
        }


# Keys of the `progressive-delivery:` namespace, with their defaults.
# `None` means "required"; a callable computes the default from the stack name.
DEFAULTS: dict[str, Any] = {
    "clusterName": lambda stack: f"pd-{stack}",
    "clusterServers": 1,
    "clusterAgents": 2,
    "k3sImage": "rancher/k3s:v1.33.5-k3s1",
    "httpPort": None,
    "apiPort": None,
    "registryPort": None,
    "repositoryOwner": None,
    "repositoryName": lambda stack: f"{PROJECT}-{stack}",
    "repositoryVisibility": "private",
    "repositoryBranch": "main",
    "fluxVersion": "v2.7.5",
    "imageRepository": LOCAL_REGISTRY,
    "imageRegistryUsername": None,
    "appVersion": "0.1.0",
    "appPathPrefix": "/echo/",
    "grafanaHost": "grafana.localhost",
    "readyTimeoutMinutes": 30,
}
SECRET_KEYS = ("imageRegistryPassword",)


class _Reader:
    """Reads raw values, collecting problems instead of stopping at the first."""

    def __init__(self, stack: str, raw: Mapping[str, Any], env: Mapping[str, str]):
        self.stack = stack
        self.raw = raw
        self.env = env
        self.problems: list[str] = []

    def key(self, name: str) -> str:
        return f"{PROJECT}:{name}"

    def fail(self, name: str, message: str) -> None:
        self.problems.append(f"{self.key(name)}: {message}")

    def value(self, name: str) -> Any:
        if name in self.raw and self.raw[name] not in (None, ""):
            return self.raw[name]
        default = DEFAULTS.get(name)
        return default(self.stack) if callable(default) else default

    def text(self, name: str, pattern: re.Pattern | None = None, hint: str = "") -> str:
        value = self.value(name)
        if value is None:
            self.fail(name, f"is required; set it with `pulumi config set {self.key(name)} <value>`")
            return ""
        value = str(value)
        if pattern is not None and not pattern.match(value):
            self.fail(name, f"'{value}' is not valid: {hint}")
        return value

    def integer(self, name: str, minimum: int, maximum: int, hint: str) -> int:
        value = self.value(name)
        if value is None:
            self.fail(name, f"is required: {hint}; set it with `pulumi config set {self.key(name)} <number>`")
            return minimum
        try:
            number = int(str(value), 10)
        except ValueError:
            self.fail(name, f"'{value}' is not a whole number: {hint}")
            return minimum
        if not minimum <= number <= maximum:
            self.fail(name, f"{number} is out of range: {hint}")
        return number


def build_settings(stack: str, raw: Mapping[str, Any], env: Mapping[str, str],
                   has_github_token: bool = True,
                   has_registry_password: bool = True,
                   require_owner: bool = True) -> Settings:
    """Validate raw settings of one stack and return them typed, or raise SettingsError."""
    r = _Reader(stack, raw, env)
    unknown = sorted(set(raw) - set(DEFAULTS) - set(SECRET_KEYS))
    for name in unknown:
        r.fail(name, f"is not a setting of this program; known settings: {', '.join(sorted(DEFAULTS))}")

    if not re.match(r"^[a-z0-9][a-z0-9-]*$", stack):
        r.problems.append(f"stack name '{stack}': use lower-case letters, digits and '-'")

    cluster_name = r.text("clusterName", _CLUSTER_NAME,
                          "use lower-case letters, digits and '-', at most 32 characters")
    if len(cluster_name) > 32:
        r.fail("clusterName", f"'{cluster_name}' is longer than 32 characters")
    servers = r.integer("clusterServers", 1, 7, "a k3d cluster needs 1 to 7 servers (use an odd number for HA)")
    agents = r.integer("clusterAgents", 0, 20, "use 0 (workloads run on the server) to 20 agents")
    k3s_image = r.text("k3sImage", _K3S_IMAGE, "pin a k3s image such as rancher/k3s:v1.33.5-k3s1")
    match = _K3S_IMAGE.match(k3s_image)
    if match and (int(match["major"]), int(match["minor"])) < MIN_KUBERNETES:
        r.fail("k3sImage", f"'{k3s_image}' runs Kubernetes {match['major']}.{match['minor']}; "
                           f"use {MIN_KUBERNETES[0]}.{MIN_KUBERNETES[1]} or newer")

    port_hint = "use a free host port between 1024 and 65535"
    ports = {name: r.integer(name, 1024, 65535, port_hint)
             for name in ("httpPort", "apiPort", "registryPort")}
    seen: dict[int, str] = {}
    for name, port in ports.items():
        if port in seen and r.value(name) is not None:
            r.fail(name, f"port {port} is also used by {r.key(seen[port])}; every host port must be distinct")
        seen.setdefault(port, name)

    owner = r.value("repositoryOwner") or env.get("GITHUB_OWNER", "")
    if not owner and require_owner:
        r.fail("repositoryOwner", "no repository owner: set it with `pulumi config set "
                                  f"{r.key('repositoryOwner')} <user-or-org>` or export GITHUB_OWNER")
    elif owner and not _OWNER.match(str(owner)):
        r.fail("repositoryOwner", f"'{owner}' is not a GitHub user or organisation name")
    repo_name = r.text("repositoryName", _REPOSITORY_NAME,
                       "use letters, digits, '.', '_' and '-' (at most 100 characters)")
    if repo_name in (".", ".."):
        r.fail("repositoryName", f"'{repo_name}' is reserved by GitHub; choose another name")
    visibility = r.text("repositoryVisibility")
    if visibility not in VISIBILITIES:
        r.fail("repositoryVisibility", f"'{visibility}' is not one of {', '.join(VISIBILITIES)}")
    branch = r.text("repositoryBranch", _BRANCH, "use a valid git branch name such as main")

    flux_version = r.text("fluxVersion", _FLUX_VERSION, "pin a Flux release such as v2.7.5")
    app_version = r.text("appVersion")
    if app_version and not semver.Version.is_valid(app_version):
        r.fail("appVersion", f"'{app_version}' is not a semantic version such as 0.1.0")
    elif app_version and not policy_for(stack).accepts(app_version):
        r.fail("appVersion", f"'{app_version}' would never be deployed: the {stack} image policy picks "
                             f"{policy_for(stack).describe()} only")
    path_prefix = r.text("appPathPrefix", _PATH_PREFIX, "use a path that starts and ends with '/', e.g. /echo/")
    grafana_host = r.text("grafanaHost", _HOSTNAME, "use a lower-case host name such as grafana.localhost")
    timeout = r.integer("readyTimeoutMinutes", 5, 120, "minutes to wait for Flux to be Ready, 5 to 120")

    image_repository = r.text("imageRepository")
    username = r.value("imageRegistryUsername")
    if image_repository != LOCAL_REGISTRY:
        if not _IMAGE_REPOSITORY.match(image_repository):
            r.fail("imageRepository", f"'{image_repository}' is neither 'local' nor an image repository "
                                      "such as ghcr.io/<owner>/echo-version")
        if not username:
            r.fail("imageRegistryUsername", f"is required when {r.key('imageRepository')} is an external registry")
        if not has_registry_password:
            r.fail("imageRegistryPassword", "is required when the image registry is external; set it with "
                                            f"`pulumi config set --secret {r.key('imageRegistryPassword')} <token>`")

    if not has_github_token:
        r.problems.append("github:token: no GitHub token; export GITHUB_TOKEN or run "
                          "`pulumi config set --secret github:token <token>` "
                          "(a token with the 'repo' scope, or fine-grained with Administration "
                          "and Contents read-write)")

    if r.problems:
        raise SettingsError(stack, r.problems)
    return Settings(
        stack=stack,
        cluster=ClusterSettings(cluster_name, servers, agents, k3s_image,
                                ports["httpPort"], ports["apiPort"]),
        repository=RepositorySettings(str(owner), repo_name, visibility, branch),
        registry=RegistrySettings(image_repository, ports["registryPort"],
                                  str(username) if username else None),
        flux_version=flux_version,
        app_version=app_version,
        app_path_prefix=path_prefix,
        grafana_host=grafana_host,
        ready_timeout_minutes=timeout,
    )


def stack_file(stack: str, root: Path = PROJECT_ROOT) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def available_stacks(root: Path = PROJECT_ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def read_stack_file(stack: str, root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """Raw `progressive-delivery:` values of a stack file (secrets excluded)."""
    path = stack_file(stack, root)
    if not path.is_file():
        known = ", ".join(available_stacks(root)) or "none"
        raise SettingsError(stack, [f"{path.name}: no such stack file (known stacks: {known})"])
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise SettingsError(stack, [f"{path.name}: not valid YAML: {error}"]) from None
    config = document.get("config") or {} if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise SettingsError(stack, [f"{path.name}: 'config' must be a mapping of settings"])
    prefix = f"{PROJECT}:"
    return {k[len(prefix):]: v for k, v in config.items()
            if k.startswith(prefix) and not isinstance(v, dict)}


def load_stack(stack: str, root: Path = PROJECT_ROOT, env: Mapping[str, str] | None = None) -> Settings:
    """Settings of a stack read from its file, for the CLI.

    Secrets and the repository owner are not needed there, so they are not required.
    """
    env = os.environ if env is None else env
    return build_settings(stack, read_stack_file(stack, root), env, require_owner=False)


def load_from_pulumi() -> Settings:
    """Settings of the running Pulumi stack: the program's single entry point to config."""
    import pulumi

    config = pulumi.Config(PROJECT)
    stack = pulumi.get_stack()
    raw = {name: value for name in DEFAULTS if (value := config.get(name)) is not None}
    # Keys written in the stack file but unknown to the program are reported too.
    with contextlib.suppress(SettingsError):
        raw.update({k: v for k, v in read_stack_file(stack).items() if k not in raw})
    return build_settings(
        stack, raw, os.environ,
        has_github_token=bool(os.environ.get("GITHUB_TOKEN")) or github_token_config() is not None,
        has_registry_password=config.get_secret("imageRegistryPassword") is not None,
    )


def github_token_config():
    """The `github:token` secret of the stack, or None."""
    import pulumi

    return pulumi.Config("github").get_secret("token")
