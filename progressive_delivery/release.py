"""`release`: build echo-version at a version, push it to the stack's registry, follow the canary.

    python -m progressive_delivery release --stack staging 1.2.0 [--faulty] [--watch]

The version must be one the stack's image policy picks (staging: x.y.z and
x.y.z-rc.N; production: x.y.z) and higher than the current one, the highest
such tag already in the registry; otherwise Flux would never deploy it. The
commands run are built as a plan by pure functions and executed through one
runner; secrets reach `docker login` on stdin only. With `--watch` the
Flagger Canary is polled and each change of phase or weight printed until the
version is promoted (exit 0) or rolled back (exit 1).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shlex
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

import semver

from .config import APP_NAME, APP_SOURCE, REGISTRY_PASSWORD_VARIABLE, Settings, SettingsError, load_stack
from .kube import (
    ClusterUnreachable,
    Kubectl,
    KubeError,
    NotFound,
    Runner,
    ToolMissing,
    UnknownKind,
    choose_kubeconfig,
    kubeconfig_path,
    run_process,
)
from .versions import VersionPolicy, policy_for

CANARY_NAMESPACE = "applications"
# Build arguments of a faulty release: enough errors and latency for Flagger to roll it back.
FAULT_ERROR_RATE = "0.5"
FAULT_DELAY_SECONDS = "0.5"
DEFAULT_TIMEOUT_MINUTES = 20
POLL_SECONDS = 5.0

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2


class ReleaseRefused(Exception):
    """The release cannot go ahead as asked (exit 2); the message says what to change."""


# --------------------------------------------------------------------------- version checks

def check_syntax(text: str, policy: VersionPolicy) -> semver.Version:
    """The version parsed, or ReleaseRefused naming what is wrong with it."""
    if not semver.Version.is_valid(text):
        hint = " (without the leading 'v')" if text[:1] in "vV" and semver.Version.is_valid(text[1:]) else ""
        raise ReleaseRefused(f"'{text}' is not a semantic version: give MAJOR.MINOR.PATCH such as 1.2.0"
                             f"{hint}, or 1.2.0-rc.1 for a staging release candidate.")
    version = semver.Version.parse(text)
    if not policy.accepts(text):
        reason = f"the {policy.environment} image policy only picks {policy.describe()}"
        if version.prerelease and not policy.release_candidates:
            reason += (f", never the pre-release {text}; release it to staging, then release "
                       f"{version.finalize_version()} here")
        elif version.build:
            reason += ", without build metadata"
        raise ReleaseRefused(f"Refusing {text}: {reason}.")
    return version


def current_version(tags: Iterable[str], policy: VersionPolicy) -> str | None:
    """The highest tag the policy accepts: the version Flux runs once it caught up."""
    accepted = [tag for tag in tags if policy.accepts(tag)]
    return max(accepted, key=semver.Version.parse, default=None)


def check_newer(version: semver.Version, current: str | None, repository: str) -> None:
    """Refuse a version that is not above the current one (Flux picks the highest)."""
    if current is None or version > semver.Version.parse(current):
        return
    same = "is the current version" if version == semver.Version.parse(current) else \
        f"is not newer than {current}, the current version"
    raise ReleaseRefused(f"Refusing {version}: it {same} in {repository}; Flux deploys the highest "
                         f"version, so release a higher one such as {semver.Version.parse(current).bump_patch()}.")


# --------------------------------------------------------------------------- registry

class RegistryUnreachable(Exception):
    """No answer from the registry."""


class RegistryError(Exception):
    """The registry answered, but not with a tag list."""


@dataclass(frozen=True)
class RegistryEndpoint:
    """Registry HTTP API v2 address of the echo-version repository, and its credentials."""

    base_url: str
    name: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def registry_endpoint(settings: Settings, env: Mapping[str, str]) -> RegistryEndpoint:
    """Local registry on localhost:<registryPort>, or the external registry over HTTPS."""
    registry = settings.registry
    if registry.is_local:
        return RegistryEndpoint(f"http://localhost:{registry.port}", APP_NAME)
    server, name = registry.repository.split("/", 1)
    base = "https://registry-1.docker.io" if server == "docker.io" else f"https://{server}"
    variable = password_variable(settings, env)
    return RegistryEndpoint(base, name, registry.username, env.get(variable) if variable else None)


def _basic(username: str | None, password: str | None) -> dict[str, str]:
    if not password:
        return {}
    raw = f"{username or 'token'}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def _bearer_token(challenge: str, endpoint: RegistryEndpoint, timeout: float) -> str:
    """Token from the registry's token service named in a `WWW-Authenticate: Bearer` challenge."""
    scheme, _, rest = challenge.partition(" ")
    if scheme.lower() != "bearer":
        raise RegistryError(f"unsupported authentication scheme '{scheme}'")
    params = urllib.request.parse_keqv_list(urllib.request.parse_http_list(rest))
    realm = params.pop("realm", None)
    if not realm:
        raise RegistryError("authentication challenge without a token realm")
    url = f"{realm}?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url, headers=_basic(endpoint.username, endpoint.password))
    with urllib.request.urlopen(request, timeout=timeout) as response:
        document = json.load(response)
    token = document.get("token") or document.get("access_token")
    if not token:
        raise RegistryError("the token service returned no token")
    return str(token)


def _token_or_error(challenge: str, endpoint: RegistryEndpoint, timeout: float) -> str:
    """A bearer token, every failure turned into RegistryError or RegistryUnreachable."""
    try:
        return _bearer_token(challenge, endpoint, timeout)
    except urllib.error.HTTPError as error:
        raise RegistryError(f"the token service refused access (HTTP {error.code}); check the registry "
                            "user and IMAGE_REGISTRY_PASSWORD") from None
    except (urllib.error.URLError, OSError) as error:
        raise RegistryUnreachable(f"token service: {getattr(error, 'reason', error)}") from None
    except ValueError as error:
        raise RegistryError(f"the token service answered with something that is not JSON ({error})") from None


def _next_link(header: str | None, base_url: str) -> str | None:
    """The `rel="next"` target of a Link header, absolute."""
    for part in (header or "").split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") and target.strip().startswith("<"):
            return urllib.parse.urljoin(base_url, target.strip()[1:-1])
    return None


def _opener(base_url: str) -> urllib.request.OpenerDirector:
    """A loopback registry is reached directly, never through a proxy from the environment."""
    host = urllib.parse.urlsplit(base_url).hostname
    if host in ("localhost", "127.0.0.1", "::1"):
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def list_tags(endpoint: RegistryEndpoint, timeout: float = 5.0, max_pages: int = 50) -> list[str]:
    """Tags of the repository (empty when it was never pushed), following pagination."""
    opener = _opener(endpoint.base_url)
    url: str | None = f"{endpoint.base_url}/v2/{endpoint.name}/tags/list?n=1000"
    token: str | None = None
    tags: list[str] = []
    pages = 0
    while url and pages < max_pages:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            with opener.open(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
                document = json.load(response)
                link = response.headers.get("Link")
        except urllib.error.HTTPError as error:
            if error.code == 401 and token is None and error.headers.get("WWW-Authenticate"):
                token = _token_or_error(error.headers["WWW-Authenticate"], endpoint, timeout)
                continue
            if error.code == 404:
                return tags  # the repository has no image yet
            raise RegistryError(f"HTTP {error.code} {error.reason}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise RegistryUnreachable(str(reason)) from None
        except ValueError as error:
            raise RegistryError(f"the answer is not JSON ({error})") from None
        if not isinstance(document, dict):
            raise RegistryError("the answer is not a tag list")
        tags.extend(str(tag) for tag in (document.get("tags") or []))
        url = _next_link(link, endpoint.base_url)
        pages += 1
    return tags


# --------------------------------------------------------------------------- plan

@dataclass(frozen=True)
class Step:
    """One command; `stdin_from` names the environment variable piped to its stdin."""

    summary: str
    argv: tuple[str, ...]
    stdin_from: str | None = None

    def display(self) -> str:
        shown = shlex.join(self.argv)
        return f"{shown} < ${self.stdin_from}" if self.stdin_from else shown


@dataclass(frozen=True)
class ReleasePlan:
    """The image to produce and the commands that produce it."""

    image: str
    steps: tuple[Step, ...]


def password_variable(settings: Settings, env: Mapping[str, str]) -> str | None:
    """Environment variable holding the external registry's password, if one is set."""
    if settings.registry.is_local:
        return None
    if env.get(REGISTRY_PASSWORD_VARIABLE):
        return REGISTRY_PASSWORD_VARIABLE
    if settings.registry.server == "ghcr.io" and env.get("GITHUB_TOKEN"):
        return "GITHUB_TOKEN"
    return None


def image_reference(settings: Settings, version: str) -> str:
    return f"{settings.registry.push_repository(settings.cluster.name)}:{version}"


def build_args(version: str, faulty: bool) -> dict[str, str]:
    args = {"APP_VERSION": version}
    if faulty:
        args.update(FAULT_ERROR_RATE=FAULT_ERROR_RATE, FAULT_DELAY_SECONDS=FAULT_DELAY_SECONDS)
    return args


def build_plan(settings: Settings, version: str, faulty: bool = False,
               login_from: str | None = None, context: str = str(APP_SOURCE)) -> ReleasePlan:
    """docker build, (login,) push: the release of `version` to the stack's registry."""
    image = image_reference(settings, version)
    build = ["docker", "build"]
    for name, value in build_args(version, faulty).items():
        build += ["--build-arg", f"{name}={value}"]
    build += ["--tag", image, context]
    steps = [Step(f"build {image}" + (" (faulty)" if faulty else ""), tuple(build))]
    if login_from and not settings.registry.is_local:
        steps.append(Step(f"log in to {settings.registry.server}",
                          ("docker", "login", settings.registry.server,
                           "--username", settings.registry.username or "", "--password-stdin"),
                          stdin_from=login_from))
    steps.append(Step(f"push {image}", ("docker", "push", image)))
    return ReleasePlan(image, tuple(steps))


def execute(plan: ReleasePlan, runner: Runner, env: Mapping[str, str],
            out: Callable[[str], None] = print) -> int:
    """Run the plan's steps in order; stop at the first failure."""
    for step in plan.steps:
        out(f"==> {step.summary}")
        stdin = env.get(step.stdin_from, "") if step.stdin_from else None
        try:
            result = runner(step.argv, stdin=stdin, capture=False)
        except ToolMissing as error:
            out(f"error: {error}; install Docker 24 or newer and start it")
            return EXIT_FAILED
        if result.returncode != 0:
            out(f"error: `{step.argv[0]} {step.argv[1]}` failed with exit code {result.returncode}")
            return EXIT_FAILED
    return EXIT_OK


# --------------------------------------------------------------------------- watching the canary

PROGRESS_PHASES = frozenset({"Progressing", "WaitingPromotion", "Promoting", "Finalising"})


class Outcome(Enum):
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled back"


@dataclass(frozen=True)
class CanarySnapshot:
    """What the Canary and its Deployments say at one moment."""

    time: datetime
    phase: str = ""
    weight: int = 0
    failed_checks: int = 0
    canary_tag: str | None = None  # image tag of the target Deployment (what Flux deployed)
    primary_tag: str | None = None  # image tag of the primary Deployment (what serves traffic)
    error: str | None = None

    def key(self) -> tuple:
        return (self.phase, self.weight, self.failed_checks, self.canary_tag, self.error)


def image_tag(image: str) -> str | None:
    """Tag of an image reference (`repo:port/name:tag@digest` -> `tag`)."""
    image = image.split("@", 1)[0]
    name, _, tag = image.rpartition(":")
    return tag if name and "/" not in tag else None


def _deployment_tag(deployments: Mapping[str, Any], name: str) -> str | None:
    for item in deployments.get("items") or []:
        if (item.get("metadata") or {}).get("name") != name:
            continue
        containers = ((item.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
        images = [c.get("image", "") for c in containers]
        chosen = next((i for i in images if i.split("@")[0].rpartition(":")[0].endswith(f"/{APP_NAME}")),
                      images[0] if images else "")
        return image_tag(chosen)
    return None


def snapshot_from(canary: Mapping[str, Any], deployments: Mapping[str, Any], when: datetime) -> CanarySnapshot:
    """A snapshot from `kubectl get canary -o json` and `kubectl get deployments -o json`."""
    status = canary.get("status") or {}
    target = ((canary.get("spec") or {}).get("targetRef") or {}).get("name") or APP_NAME
    return CanarySnapshot(
        time=when,
        phase=str(status.get("phase") or "Initializing"),
        weight=int(status.get("canaryWeight") or 0),
        failed_checks=int(status.get("failedChecks") or 0),
        canary_tag=_deployment_tag(deployments, target),
        primary_tag=_deployment_tag(deployments, f"{target}-primary"),
    )


@dataclass(frozen=True)
class WatchEvent:
    """A change worth a line; `outcome` is set on the last one."""

    snapshot: CanarySnapshot
    outcome: Outcome | None = None

    def line(self) -> str:
        s = self.snapshot
        stamp = s.time.strftime("%H:%M:%S")
        if s.error:
            return f"{stamp}  {s.error}"
        text = (f"{stamp}  {s.phase:<16} weight {s.weight:>3}%  failed checks {s.failed_checks}"
                f"  canary image {s.canary_tag or '-'}")
        return f"{text}  -> {self.outcome.value}" if self.outcome else text


class CanaryWatch:
    """Decides, snapshot by snapshot, whether `version` was promoted or rolled back.

    A phase counts for this version only once the target Deployment runs it;
    Failed counts only after the analysis of this version was seen progressing
    (a Failed phase left by an earlier release must not end the watch).
    """

    def __init__(self, version: str):
        self.version = version
        self.progressed = False
        self.last: CanarySnapshot | None = None
        self.outcome: Outcome | None = None

    def observe(self, snapshot: CanarySnapshot) -> WatchEvent | None:
        changed = self.last is None or snapshot.key() != self.last.key()
        self.last = snapshot
        deployed = snapshot.canary_tag == self.version
        if deployed and snapshot.phase in PROGRESS_PHASES:
            self.progressed = True
        if snapshot.phase == "Succeeded" and (snapshot.primary_tag == self.version or
                                              (deployed and self.progressed)):
            self.outcome = Outcome.PROMOTED
        elif snapshot.phase == "Failed" and deployed and self.progressed:
            self.outcome = Outcome.ROLLED_BACK
        if changed or self.outcome:
            return WatchEvent(snapshot, self.outcome)
        return None


def follow(snapshots: Iterable[CanarySnapshot], watch: CanaryWatch) -> Iterator[WatchEvent]:
    """Events for each change, ending with the outcome (or not, when the snapshots run out)."""
    for snapshot in snapshots:
        event = watch.observe(snapshot)
        if event:
            yield event
        if watch.outcome:
            return


def timeout_message(watch: CanaryWatch, minutes: int, stack: str) -> str:
    """Why the watch ended without an outcome, and where to look."""
    last = watch.last
    where = f"check `python -m progressive_delivery status --stack {stack}`"
    if last is None or last.error:
        seen = last.error if last and last.error else "nothing observed"
        return f"timed out after {minutes} min waiting for {watch.version} ({seen}); {where}"
    if last.canary_tag != watch.version:
        return (f"timed out after {minutes} min: Flux has not deployed {watch.version} yet (the Deployment "
                f"runs {last.canary_tag or 'no image'}); {where} (ImagePolicy, ImageUpdateAutomation)")
    return (f"timed out after {minutes} min: the canary of {watch.version} is still {last.phase} at weight "
            f"{last.weight}%; {where}, or watch longer with --timeout")


def poll_canary(kubectl: Kubectl, deadline: float, interval: float = POLL_SECONDS,
                clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                now: Callable[[], datetime] = datetime.now) -> Iterator[CanarySnapshot]:
    """Snapshots of the Canary every `interval` seconds until `deadline` (a `clock` value).

    A cluster that does not answer the first poll raises ClusterUnreachable; later
    outages are reported as snapshots and polling goes on.
    """
    first = True
    while clock() < deadline:
        try:
            canary = kubectl.get_json("canaries.flagger.app", APP_NAME, "-n", CANARY_NAMESPACE)
            deployments = kubectl.get_json("deployments", "-n", CANARY_NAMESPACE)
            yield snapshot_from(canary, deployments, now())
        except NotFound:
            yield CanarySnapshot(now(), error=f"waiting: Canary {CANARY_NAMESPACE}/{APP_NAME} does not exist yet")
        except UnknownKind:
            yield CanarySnapshot(now(), error="waiting: Flagger is not installed yet (no Canary kind)")
        except ClusterUnreachable:
            if first:
                raise
            yield CanarySnapshot(now(), error="waiting: the cluster does not answer")
        except KubeError as error:
            yield CanarySnapshot(now(), error=f"waiting: {error}")
        first = False
        sleep(interval)


# --------------------------------------------------------------------------- command line

def _positive_minutes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of minutes") from None
    if not 1 <= value <= 240:
        raise argparse.ArgumentTypeError(f"{value} is out of range: give 1 to 240 minutes")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `release` command."""
    parser = subparsers.add_parser(
        "release", help="build and push echo-version at a version; optionally follow its canary",
        description="Build applications/echo-version at VERSION, push it to the stack's registry, and "
                    "(with --watch) follow the Flagger canary until it is promoted or rolled back. "
                    "Exit codes: 0 pushed (or promoted), 1 failed (build, push, rollback, timeout), "
                    "2 refused (version, settings, registry unreachable).")
    parser.add_argument("version", metavar="VERSION", help="semantic version, e.g. 1.2.0 or 1.2.0-rc.1 (staging)")
    parser.add_argument("--stack", required=True,
                        help="stack whose registry receives the image (Pulumi.<stack>.yaml)")
    parser.add_argument("--faulty", action="store_true",
                        help=f"bake in errors ({FAULT_ERROR_RATE}) and latency ({FAULT_DELAY_SECONDS}s) "
                             "so that Flagger rolls the release back")
    parser.add_argument("--watch", action="store_true", help="follow the canary until promoted or rolled back")
    parser.add_argument("--timeout", type=_positive_minutes, default=DEFAULT_TIMEOUT_MINUTES, metavar="MIN",
                        help=f"minutes to watch before giving up (default: {DEFAULT_TIMEOUT_MINUTES})")
    parser.add_argument("--kubeconfig", metavar="FILE",
                        help="kubeconfig of the cluster (default: `k3d kubeconfig get <clusterName>` of the stack)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands instead of running them")
    parser.add_argument("--initial", action="store_true",
                        help="first image of a new stack (used by `pulumi up`): push unless the tag exists")
    parser.set_defaults(handler=handle)


def _tags(endpoint: RegistryEndpoint, initial: bool, sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Registry tags; a fresh local registry gets a few seconds to start when `initial`."""
    attempts = 10 if initial else 1
    for attempt in range(attempts):
        try:
            return list_tags(endpoint)
        except RegistryUnreachable:
            if attempt == attempts - 1:
                raise
            sleep(3)
    return []


def prepare(settings: Settings, version_text: str, faulty: bool, initial: bool, dry_run: bool,
            env: Mapping[str, str], out: Callable[[str], None],
            tags_of: Callable[[RegistryEndpoint], list[str]]) -> ReleasePlan | None:
    """Validate the release and return its plan (None: nothing to do); raises ReleaseRefused."""
    version = check_syntax(version_text, policy_for(settings.stack))
    repository = settings.registry.push_repository(settings.cluster.name)
    endpoint = registry_endpoint(settings, env)
    tags: list[str] | None = None
    try:
        tags = tags_of(endpoint)
    except RegistryUnreachable as error:
        if settings.registry.is_local and not dry_run:
            raise ReleaseRefused(
                f"Cannot reach the registry of stack '{settings.stack}' at {endpoint.base_url} ({error}); "
                f"create it first with `pulumi up --stack {settings.stack}`.") from None
        out(f"warning: cannot reach {endpoint.base_url} ({error}); not checking that {version} is newer")
    except RegistryError as error:
        if settings.registry.is_local:
            raise ReleaseRefused(f"The registry at {endpoint.base_url} did not list the tags of {repository}: "
                                 f"{error}.") from None
        out(f"warning: cannot list the tags of {repository} ({error}); not checking that {version} is newer")
    if tags is not None:
        if initial and version_text in tags:
            out(f"{repository}:{version_text} is already in the registry; nothing to do")
            return None
        if not initial:
            check_newer(version, current_version(tags, policy_for(settings.stack)), repository)
    login_from = password_variable(settings, env)
    if not settings.registry.is_local and login_from is None:
        out(f"warning: neither IMAGE_REGISTRY_PASSWORD nor GITHUB_TOKEN is set; pushing to "
            f"{settings.registry.server} relies on an existing `docker login`")
    return build_plan(settings, version_text, faulty, login_from)


def watch(settings: Settings, version: str, args: argparse.Namespace, runner: Runner,
          env: Mapping[str, str], out: Callable[[str], None]) -> int:
    """Follow the canary of `version`: 0 promoted, 1 rolled back or timed out."""
    source = choose_kubeconfig(settings.cluster.name, args.kubeconfig)
    out(f"following Canary {CANARY_NAMESPACE}/{APP_NAME} of {version} ({source.describe()}; "
        f"up to {args.timeout} min; Flux picks the new tag within a few minutes)")
    canary_watch = CanaryWatch(version)
    try:
        with kubeconfig_path(source, runner, settings.stack) as path:
            kubectl = Kubectl(runner, path)
            deadline = time.monotonic() + args.timeout * 60
            for event in follow(poll_canary(kubectl, deadline, interval=POLL_SECONDS), canary_watch):
                out(event.line())
    except ClusterUnreachable as error:
        out(f"error: pushed, but cannot follow the canary: {error}")
        return EXIT_FAILED
    if canary_watch.outcome is Outcome.PROMOTED:
        out(f"{version} promoted: it now serves all traffic")
        return EXIT_OK
    if canary_watch.outcome is Outcome.ROLLED_BACK:
        out(f"{version} rolled back by Flagger: the primary still runs "
            f"{canary_watch.last.primary_tag if canary_watch.last else 'the previous version'}")
        return EXIT_FAILED
    out(f"error: {timeout_message(canary_watch, args.timeout, settings.stack)}")
    return EXIT_FAILED


def handle(args: argparse.Namespace, runner: Runner = run_process,
           env: Mapping[str, str] | None = None,
           tags_of: Callable[[RegistryEndpoint], list[str]] | None = None) -> int:
    """Run `release` from parsed arguments; return the exit code."""
    env = os.environ if env is None else env

    def out(line: str) -> None:
        stream = sys.stderr if line.startswith(("error:", "warning:")) else sys.stdout
        print(line, file=stream, flush=True)

    try:
        settings = load_stack(args.stack, env=env)
        if tags_of is None:
            def tags_of(endpoint: RegistryEndpoint) -> list[str]:
                return _tags(endpoint, args.initial)
        plan = prepare(settings, args.version, args.faulty, args.initial, args.dry_run, env, out, tags_of)
    except SettingsError as error:
        out(f"error: {error}")
        return EXIT_REFUSED
    except ReleaseRefused as error:
        out(f"error: {error}")
        return EXIT_REFUSED
    if plan is None:
        return EXIT_OK
    if args.dry_run:
        out(f"would release {plan.image}:")
        for step in plan.steps:
            out(f"  {step.display()}")
        if args.watch:
            out(f"  then follow Canary {CANARY_NAMESPACE}/{APP_NAME} until {args.version} is promoted "
                "or rolled back")
        return EXIT_OK
    code = execute(plan, runner, env, out)
    if code != EXIT_OK:
        return code
    out(f"pushed {plan.image}")
    if not args.watch:
        out(f"Flux image automation deploys it within a few minutes; follow it with --watch or "
            f"`python -m progressive_delivery status --stack {settings.stack}`")
        return EXIT_OK
    return watch(settings, args.version, args, runner, env, out)
