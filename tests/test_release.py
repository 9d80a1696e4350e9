"""The release command: version policy, registry tags, the plan of commands, and the canary watch."""

from __future__ import annotations

import argparse
import base64
import json
import re
import stat
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from progressive_delivery import config, release
from progressive_delivery.kube import Kubectl, Result
from progressive_delivery.release import (
    CanarySnapshot,
    CanaryWatch,
    Outcome,
    RegistryEndpoint,
    RegistryUnreachable,
    ReleaseRefused,
)

SECRET = "s3cr3t-registry-token"


def staging() -> config.Settings:
    return config.load_stack("staging", env={})


def production() -> config.Settings:
    return config.load_stack("production", env={})


def external(repository: str = "ghcr.io/acme/echo-version") -> config.Settings:
    raw = {"httpPort": 8080, "apiPort": 6550, "registryPort": 5050,
           "imageRepository": repository, "imageRegistryUsername": "acme"}
    return config.build_settings("staging", raw, {})


# --------------------------------------------------------------------------- version policy

@pytest.mark.parametrize("version", ["1.2.0", "0.1.1", "10.20.30", "1.2.0-rc.1", "1.2.0-rc.12"])
def test_staging_accepts_releases_and_release_candidates(version):
    assert release.check_syntax(version, release.policy_for("staging")) == release.semver.Version.parse(version)


def test_production_refuses_a_release_candidate_and_says_what_to_do():
    with pytest.raises(ReleaseRefused) as error:
        release.check_syntax("1.2.0-rc.1", release.policy_for("production"))
    message = str(error.value)
    assert "production image policy only picks x.y.z" in message
    assert "never the pre-release 1.2.0-rc.1" in message
    assert "release it to staging, then release 1.2.0 here" in message


@pytest.mark.parametrize("version", ["1.2.0-beta.1", "1.2.0-rc", "1.2.0-rc.1.2"])
def test_staging_refuses_other_pre_releases(version):
    with pytest.raises(ReleaseRefused, match="staging image policy only picks x.y.z and x.y.z-rc.N"):
        release.check_syntax(version, release.policy_for("staging"))


def test_build_metadata_is_refused():
    with pytest.raises(ReleaseRefused, match="without build metadata"):
        release.check_syntax("1.2.0+build.5", release.policy_for("production"))


@pytest.mark.parametrize("text", ["1.2", "latest", "", "1.2.0.0", "01.2.0"])
def test_a_version_that_is_not_semver_is_refused(text):
    with pytest.raises(ReleaseRefused, match="is not a semantic version: give MAJOR.MINOR.PATCH such as 1.2.0"):
        release.check_syntax(text, release.policy_for("staging"))


def test_a_leading_v_gets_a_hint():
    with pytest.raises(ReleaseRefused, match=r"without the leading 'v'"):
        release.check_syntax("v1.2.0", release.policy_for("staging"))


def test_current_version_is_the_highest_tag_the_policy_picks():
    tags = ["0.1.0", "1.0.0", "latest", "1.1.0-rc.1", "1.0.0-rc.2", "0.9.9", "sha-abc"]
    assert release.current_version(tags, release.policy_for("staging")) == "1.1.0-rc.1"
    assert release.current_version(tags, release.policy_for("production")) == "1.0.0"
    assert release.current_version(["latest"], release.policy_for("staging")) is None
    assert release.current_version(["1.10.0", "1.9.0"], release.policy_for("production")) == "1.10.0"


def test_an_older_or_equal_version_is_refused_with_a_suggestion():
    v = release.semver.Version.parse
    with pytest.raises(ReleaseRefused) as error:
        release.check_newer(v("1.1.0"), "1.2.0", "localhost:5050/echo-version")
    assert "not newer than 1.2.0, the current version in localhost:5050/echo-version" in str(error.value)
    assert "such as 1.2.1" in str(error.value)
    with pytest.raises(ReleaseRefused, match="it is the current version"):
        release.check_newer(v("1.2.0"), "1.2.0", "r")
    with pytest.raises(ReleaseRefused):
        release.check_newer(v("1.2.0-rc.1"), "1.2.0", "r")


def test_a_newer_version_passes():
    v = release.semver.Version.parse
    release.check_newer(v("1.2.1"), "1.2.0", "r")
    release.check_newer(v("1.2.0"), "1.2.0-rc.3", "r")
    release.check_newer(v("1.2.0-rc.10"), "1.2.0-rc.9", "r")
    release.check_newer(v("0.1.0"), None, "r")


# --------------------------------------------------------------------------- the plan

def test_plan_builds_and_pushes_to_the_staging_registry():
    plan = release.build_plan(staging(), "1.2.0")
    assert plan.image == "localhost:5050/echo-version:1.2.0"
    build, push = plan.steps
    assert build.argv == ("docker", "build", "--build-arg", "APP_VERSION=1.2.0",
                          "--tag", "localhost:5050/echo-version:1.2.0", str(release.APP_SOURCE))
    assert release.APP_SOURCE == config.PROJECT_ROOT / "applications" / "echo-version"
    assert push.argv == ("docker", "push", "localhost:5050/echo-version:1.2.0")


def test_build_args_are_declared_by_the_dockerfile():
    dockerfile = release.APP_SOURCE / "Dockerfile"
    if not dockerfile.exists():
        pytest.skip("applications/echo-version/Dockerfile does not exist yet")
    declared = set(re.findall(r"^ARG (\w+)", dockerfile.read_text(), flags=re.M))
    assert set(release.build_args("1.0.0", faulty=True)) <= declared


def test_plan_uses_the_production_registry_port():
    plan = release.build_plan(production(), "2.0.0")
    assert plan.image == "localhost:5051/echo-version:2.0.0"
    assert plan.steps[-1].argv == ("docker", "push", "localhost:5051/echo-version:2.0.0")


def test_faulty_release_bakes_in_errors_and_latency():
    argv = release.build_plan(staging(), "1.3.0", faulty=True).steps[0].argv
    pairs = {argv[i + 1] for i, arg in enumerate(argv) if arg == "--build-arg"}
    assert pairs == {"APP_VERSION=1.3.0", "FAULT_ERROR_RATE=0.5", "FAULT_DELAY_SECONDS=0.5"}


def test_external_registry_logs_in_with_the_password_on_stdin_only():
    settings = external()
    env = {"IMAGE_REGISTRY_PASSWORD": SECRET}
    variable = release.password_variable(settings, env)
    plan = release.build_plan(settings, "1.2.0", login_from=variable)
    assert plan.image == "ghcr.io/acme/echo-version:1.2.0"
    assert [s.argv[1] for s in plan.steps] == ["build", "login", "push"]
    login = plan.steps[1]
    assert login.argv == ("docker", "login", "ghcr.io", "--username", "acme", "--password-stdin")
    assert login.stdin_from == "IMAGE_REGISTRY_PASSWORD"

    calls = []

    def runner(argv, *, env=None, stdin=None, capture=True, timeout=None):
        calls.append((tuple(argv), stdin, dict(env or {})))
        return Result(0)

    assert release.execute(plan, runner, env, out=lambda line: None) == 0
    assert [c[1] for c in calls] == [None, SECRET, None]
    for argv, _, step_env in calls:
        assert not any(SECRET in arg for arg in argv)
        assert SECRET not in step_env.values()
    assert SECRET not in "\n".join(step.display() for step in plan.steps)


def test_github_token_is_used_for_ghcr_only():
    assert release.password_variable(external(), {"GITHUB_TOKEN": SECRET}) == "GITHUB_TOKEN"
    assert release.password_variable(external("quay.io/acme/echo-version"), {"GITHUB_TOKEN": SECRET}) is None
    assert release.password_variable(staging(), {"IMAGE_REGISTRY_PASSWORD": SECRET}) is None
    both = {"GITHUB_TOKEN": "a", "IMAGE_REGISTRY_PASSWORD": "b"}
    assert release.password_variable(external(), both) == "IMAGE_REGISTRY_PASSWORD"


def test_execute_stops_at_the_first_failing_step():
    calls = []

    def runner(argv, **_):
        calls.append(argv)
        return Result(1)

    lines = []
    assert release.execute(release.build_plan(staging(), "1.2.0"), runner, {}, lines.append) == 1
    assert len(calls) == 1
    assert "docker build` failed with exit code 1" in lines[-1]


# --------------------------------------------------------------------------- preparing a release

def prepare(settings, version, tags=None, error=None, initial=False, dry_run=False, env=None):
    lines: list[str] = []

    def tags_of(endpoint: RegistryEndpoint) -> list[str]:
        if error:
            raise error
        return list(tags or [])

    plan = release.prepare(settings, version, False, initial, dry_run, env or {}, lines.append, tags_of)
    return plan, lines


def test_unreachable_local_registry_asks_for_pulumi_up():
    with pytest.raises(ReleaseRefused) as refused:
        prepare(staging(), "1.2.0", error=RegistryUnreachable("connection refused"))
    assert "http://localhost:5050" in str(refused.value)
    assert "`pulumi up --stack staging`" in str(refused.value)


def test_dry_run_only_warns_when_the_registry_is_unreachable():
    plan, lines = prepare(staging(), "1.2.0", error=RegistryUnreachable("refused"), dry_run=True)
    assert plan is not None and lines[0].startswith("warning: cannot reach http://localhost:5050")


def test_release_below_the_registry_current_is_refused():
    with pytest.raises(ReleaseRefused, match="not newer than 1.3.0"):
        prepare(staging(), "1.2.5", tags=["0.1.0", "1.3.0"])
    with pytest.raises(ReleaseRefused, match="not newer than 1.4.0-rc.1"):
        prepare(staging(), "1.3.5", tags=["1.3.0", "1.4.0-rc.1"])
    plan, _ = prepare(production(), "1.3.5", tags=["1.3.0", "1.4.0-rc.1"])
    assert plan.image.endswith(":1.3.5")


def test_initial_release_skips_an_existing_tag_and_the_newer_check():
    plan, lines = prepare(staging(), "0.1.0", tags=["0.1.0"], initial=True)
    assert plan is None and "already in the registry" in lines[0]
    plan, _ = prepare(staging(), "0.1.0", tags=["0.2.0"], initial=True)
    assert plan is not None


def test_external_registry_listing_failure_is_a_warning():
    plan, lines = prepare(external(), "1.2.0", error=release.RegistryError("HTTP 403 Forbidden"),
                          env={"GITHUB_TOKEN": SECRET})
    assert plan is not None and "not checking that 1.2.0 is newer" in lines[0]
    assert plan.steps[1].stdin_from == "GITHUB_TOKEN"


# --------------------------------------------------------------------------- registry API

class Registry:
    """A stand-in registry API on 127.0.0.1: tags, pagination, bearer token auth."""

    def __init__(self, pages: list[list[str]], token: str | None = None, missing: bool = False,
                 token_status: int = 200):
        self.pages, self.token, self.missing, self.token_status = pages, token, missing, token_status
        self.token_requests: list[dict] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                registry.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path
        if path.startswith("/token"):
            self.token_requests.append({"path": path, "auth": request.headers.get("Authorization")})
            return self.reply(request, self.token_status, {"token": self.token})
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            challenge = f'Bearer realm="{self.url}/token",service="test",scope="repository:acme/echo-version:pull"'
            return self.reply(request, 401, {"errors": []}, {"WWW-Authenticate": challenge})
        if self.missing:
            return self.reply(request, 404, {"errors": [{"code": "NAME_UNKNOWN"}]})
        page = int(path.split("page=")[1]) if "page=" in path else 0
        headers = {}
        if page + 1 < len(self.pages):
            base = path.split("?")[0]
            headers["Link"] = f'<{base}?n=2&page={page + 1}>; rel="next"'
        self.reply(request, 200, {"name": "echo-version", "tags": self.pages[page]}, headers)

    @staticmethod
    def reply(request, code, body, headers=None):
        data = json.dumps(body).encode()
        request.send_response(code)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def registry_factory():
    started: list[Registry] = []

    def start(*args, **kwargs) -> Registry:
        started.append(Registry(*args, **kwargs))
        return started[-1]

    yield start
    for registry in started:
        registry.close()


def test_tags_are_listed_across_pages(registry_factory, monkeypatch):
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # a loopback registry is never proxied
    registry = registry_factory([["0.1.0", "1.0.0"], ["1.1.0"]])
    assert release.list_tags(RegistryEndpoint(registry.url, "echo-version")) == ["0.1.0", "1.0.0", "1.1.0"]


def test_a_repository_never_pushed_has_no_tags(registry_factory):
    registry = registry_factory([[]], missing=True)
    assert release.list_tags(RegistryEndpoint(registry.url, "echo-version")) == []


def test_bearer_token_is_fetched_with_the_registry_credentials(registry_factory):
    registry = registry_factory([["1.0.0"]], token="t0k")
    endpoint = RegistryEndpoint(registry.url, "acme/echo-version", "acme", SECRET)
    assert release.list_tags(endpoint) == ["1.0.0"]
    (request,) = registry.token_requests
    assert "service=test" in request["path"] and "scope=repository%3Aacme%2Fecho-version%3Apull" in request["path"]
    assert request["auth"] == "Basic " + base64.b64encode(f"acme:{SECRET}".encode()).decode()
    assert SECRET not in repr(endpoint)


def test_a_refused_token_is_a_registry_error(registry_factory):
    registry = registry_factory([["1.0.0"]], token="t0k", token_status=403)
    with pytest.raises(release.RegistryError, match="token service refused access"):
        release.list_tags(RegistryEndpoint(registry.url, "acme/echo-version", "acme", "wrong"))


def test_unreachable_registry_raises():
    with pytest.raises(RegistryUnreachable):
        release.list_tags(RegistryEndpoint("http://127.0.0.1:9", "echo-version"), timeout=2)


def test_registry_endpoint_of_each_stack():
    assert release.registry_endpoint(staging(), {}).base_url == "http://localhost:5050"
    assert release.registry_endpoint(production(), {}).base_url == "http://localhost:5051"
    endpoint = release.registry_endpoint(external(), {"GITHUB_TOKEN": SECRET})
    assert (endpoint.base_url, endpoint.name, endpoint.username, endpoint.password) == \
        ("https://ghcr.io", "acme/echo-version", "acme", SECRET)


# --------------------------------------------------------------------------- watching the canary

T0 = datetime(2025, 1, 1, 12, 0, 0)


def snaps(*states: tuple, version_before: str = "1.1.0") -> list[CanarySnapshot]:
    """Snapshots from (phase, weight, failed checks, canary tag, primary tag), 5 s apart."""
    return [CanarySnapshot(T0 + timedelta(seconds=5 * i), phase, weight, failed, canary, primary)
            for i, (phase, weight, failed, canary, primary) in enumerate(states)]


def run_watch(snapshots, version="1.2.0"):
    watch = CanaryWatch(version)
    events = list(release.follow(snapshots, watch))
    return watch, events


def test_progressing_canary_ends_promoted():
    watch, events = run_watch(snaps(
        ("Succeeded", 0, 0, "1.1.0", "1.1.0"),  # Flux has not deployed 1.2.0 yet
        ("Succeeded", 0, 0, "1.1.0", "1.1.0"),
        ("Succeeded", 0, 0, "1.2.0", "1.1.0"),  # deployed; Flagger has not noticed yet
        ("Progressing", 0, 0, "1.2.0", "1.1.0"),
        ("Progressing", 20, 0, "1.2.0", "1.1.0"),
        ("Progressing", 20, 0, "1.2.0", "1.1.0"),
        ("Progressing", 40, 0, "1.2.0", "1.1.0"),
        ("Progressing", 60, 0, "1.2.0", "1.1.0"),
        ("Promoting", 0, 0, "1.2.0", "1.2.0"),
        ("Finalising", 0, 0, "1.2.0", "1.2.0"),
        ("Succeeded", 0, 0, "1.2.0", "1.2.0"),
        ("Succeeded", 0, 0, "1.2.0", "1.2.0"),  # never reached: the watch has ended
    ))
    assert watch.outcome is Outcome.PROMOTED
    assert [e.snapshot.weight for e in events if e.snapshot.phase == "Progressing"] == [0, 20, 40, 60]
    assert [e.snapshot.phase for e in events] == [
        "Succeeded", "Succeeded", "Progressing", "Progressing", "Progressing", "Progressing",
        "Promoting", "Finalising", "Succeeded"]
    assert events[-1].outcome is Outcome.PROMOTED and events[-1].line().endswith("-> promoted")
    assert events[3].line() == "12:00:20  Progressing      weight  20%  failed checks 0  canary image 1.2.0"


def test_failing_canary_ends_rolled_back():
    watch, events = run_watch(snaps(
        ("Succeeded", 0, 0, "1.2.0", "1.1.0"),
        ("Progressing", 10, 0, "1.2.0", "1.1.0"),
        ("Progressing", 10, 1, "1.2.0", "1.1.0"),
        ("Progressing", 10, 2, "1.2.0", "1.1.0"),
        ("Failed", 0, 2, "1.2.0", "1.1.0"),
    ))
    assert watch.outcome is Outcome.ROLLED_BACK
    assert [e.snapshot.failed_checks for e in events] == [0, 0, 1, 2, 2]
    assert "failed checks 2" in events[-1].line() and events[-1].line().endswith("-> rolled back")


def test_a_failed_phase_left_by_an_earlier_release_does_not_end_the_watch():
    watch, events = run_watch(snaps(
        ("Failed", 0, 5, "1.1.0", "1.0.0"),  # the previous (faulty) release
        ("Failed", 0, 5, "1.2.0", "1.0.0"),  # 1.2.0 deployed, Flagger not yet analysing
        ("Progressing", 0, 0, "1.2.0", "1.0.0"),
        ("Succeeded", 0, 0, "1.2.0", "1.2.0"),
    ))
    assert watch.outcome is Outcome.PROMOTED
    assert all(e.outcome is None for e in events[:-1])


def test_an_already_promoted_version_is_recognised():
    watch, _ = run_watch(snaps(("Succeeded", 0, 0, "1.2.0", "1.2.0")))
    assert watch.outcome is Outcome.PROMOTED


def test_snapshots_running_out_is_a_timeout_naming_what_is_missing():
    watch, events = run_watch(snaps(("Succeeded", 0, 0, "1.1.0", "1.1.0")) * 3)
    assert watch.outcome is None and len(events) == 1
    message = release.timeout_message(watch, 20, "staging")
    assert "Flux has not deployed 1.2.0 yet (the Deployment runs 1.1.0)" in message
    assert "status --stack staging" in message
    watch, _ = run_watch(snaps(("Progressing", 40, 0, "1.2.0", "1.1.0")))
    assert "still Progressing at weight 40%" in release.timeout_message(watch, 20, "staging")


def deployment(name: str, image: str) -> dict:
    return {"metadata": {"name": name},
            "spec": {"template": {"spec": {"containers": [
                {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.27.0"},
                {"name": "app", "image": image}]}}}}


def test_snapshot_reads_the_canary_and_both_deployments():
    canary = {"spec": {"targetRef": {"kind": "Deployment", "name": "echo-version"}},
              "status": {"phase": "Progressing", "canaryWeight": 40, "failedChecks": 1}}
    image = "k3d-pd-staging-registry:5000/echo-version:{}"
    deployments = {"items": [deployment("echo-version", image.format("1.2.0")),
                             deployment("echo-version-primary", image.format("1.1.0"))]}
    snapshot = release.snapshot_from(canary, deployments, T0)
    assert (snapshot.phase, snapshot.weight, snapshot.failed_checks) == ("Progressing", 40, 1)
    assert (snapshot.canary_tag, snapshot.primary_tag) == ("1.2.0", "1.1.0")
    empty = release.snapshot_from({}, {"items": []}, T0)
    assert (empty.phase, empty.canary_tag) == ("Initializing", None)


@pytest.mark.parametrize("image,tag", [
    ("localhost:5050/echo-version:1.2.0", "1.2.0"),
    ("ghcr.io/acme/echo-version:1.2.0-rc.1@sha256:abc", "1.2.0-rc.1"),
    ("localhost:5050/echo-version", None),
])
def test_image_tag(image, tag):
    assert release.image_tag(image) == tag


class ScriptedKubectl:
    """A runner answering `k3d kubeconfig get` and kubectl from a script of canary states."""

    def __init__(self, canaries: list, deployments: Callable[[int], dict]):
        self.canaries, self.deployments = canaries, deployments
        self.calls: list[list[str]] = []
        self.kubeconfig_modes: list[int] = []
        self.polls = 0

    def __call__(self, argv, *, env=None, stdin=None, capture=True, timeout=None):
        argv = list(argv)
        self.calls.append(argv)
        if argv[:3] == ["k3d", "kubeconfig", "get"]:
            return Result(0, "apiVersion: v1\nkind: Config\n")
        if "--kubeconfig" in argv:
            path = Path(argv[argv.index("--kubeconfig") + 1])
            self.kubeconfig_modes.append(stat.S_IMODE(path.stat().st_mode))
        if "canaries.flagger.app" in argv:
            state = self.canaries[min(self.polls, len(self.canaries) - 1)]
            self.polls += 1
            if state is None:
                return Result(1, "", 'Error from server (NotFound): canaries.flagger.app "echo-version" not found')
            return Result(0, json.dumps({"status": state}))
        if "deployments" in argv:
            return Result(0, json.dumps(self.deployments(self.polls)))
        if argv[:2] == ["docker", "build"] or argv[:2] == ["docker", "push"]:
            return Result(0)
        raise AssertionError(f"unexpected command {argv}")


def test_poll_reports_a_missing_canary_and_stops_at_the_deadline():
    runner = ScriptedKubectl([None], lambda _: {"items": []})
    ticks = iter(range(100))
    snapshots = list(release.poll_canary(Kubectl(runner), deadline=3, clock=lambda: next(ticks),
                                         sleep=lambda _: None, now=lambda: T0))
    assert len(snapshots) == 3
    assert snapshots[0].error == "waiting: Canary applications/echo-version does not exist yet"


def test_poll_fails_fast_on_a_cluster_that_never_answered_then_tolerates_outages():
    answers = iter([Result(1, "", "Unable to connect to the server: connection refused")])

    def runner(argv, **_):
        return next(answers)

    with pytest.raises(release.ClusterUnreachable):
        list(release.poll_canary(Kubectl(runner), deadline=10, clock=lambda: 0, sleep=lambda _: None))

    ok = Result(0, json.dumps({"status": {"phase": "Succeeded"}}))
    answers = iter([ok, Result(0, '{"items": []}'), Result(1, "", "Unable to connect to the server: i/o timeout")])
    ticks = iter(range(100))
    snapshots = list(release.poll_canary(Kubectl(runner), deadline=2, clock=lambda: next(ticks),
                                         sleep=lambda _: None, now=lambda: T0))
    assert [s.error for s in snapshots] == [None, "waiting: the cluster does not answer"]


def args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    release.register(parser.add_subparsers())
    return parser.parse_args(["release", *argv])


def test_release_with_watch_end_to_end(monkeypatch, capsys):
    monkeypatch.setattr(release, "POLL_SECONDS", 0)
    states = [{"phase": "Succeeded"}, {"phase": "Progressing", "canaryWeight": 20},
              {"phase": "Progressing", "canaryWeight": 40}, {"phase": "Succeeded"}]
    image = "k3d-pd-staging-registry:5000/echo-version:{}"

    def deployments(polls: int) -> dict:
        return {"items": [deployment("echo-version", image.format("1.2.0")),
                          deployment("echo-version-primary", image.format("1.2.0" if polls >= 4 else "1.1.0"))]}

    runner = ScriptedKubectl(states, deployments)
    code = release.handle(args("--stack", "staging", "1.2.0", "--watch"), runner=runner, env={},
                          tags_of=lambda endpoint: ["0.1.0", "1.1.0"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert runner.calls[0][:2] == ["docker", "build"] and runner.calls[1][:2] == ["docker", "push"]
    assert runner.calls[2] == ["k3d", "kubeconfig", "get", "pd-staging"]
    assert set(runner.kubeconfig_modes) == {0o600}
    kubeconfig = Path(runner.calls[3][runner.calls[3].index("--kubeconfig") + 1])
    assert not kubeconfig.exists(), "the temporary kubeconfig must be removed"
    assert "weight  20%" in out and "weight  40%" in out and "1.2.0 promoted" in out


def test_release_with_watch_exits_1_on_rollback(monkeypatch, capsys):
    monkeypatch.setattr(release, "POLL_SECONDS", 0)
    states = [{"phase": "Progressing", "canaryWeight": 10, "failedChecks": 1},
              {"phase": "Failed", "failedChecks": 2}]
    image = "localhost:5051/echo-version:{}"
    runner = ScriptedKubectl(states, lambda _: {"items": [
        deployment("echo-version", image.format("2.0.0")),
        deployment("echo-version-primary", image.format("1.0.0"))]})
    code = release.handle(args("--stack", "production", "2.0.0", "--faulty", "--watch"), runner=runner, env={},
                          tags_of=lambda endpoint: ["1.0.0"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAULT_ERROR_RATE=0.5" in runner.calls[0]
    assert "2.0.0 rolled back by Flagger: the primary still runs 1.0.0" in out


def test_refusals_exit_2_with_a_message(capsys):
    assert release.handle(args("--stack", "production", "1.2.0-rc.1"), runner=None, env={},
                          tags_of=lambda e: []) == 2
    assert "never the pre-release" in capsys.readouterr().err
    assert release.handle(args("--stack", "staging", "1.0.0"), runner=None, env={},
                          tags_of=lambda e: ["1.0.0"]) == 2
    assert "is the current version" in capsys.readouterr().err
    assert release.handle(args("--stack", "qa", "1.0.0"), runner=None, env={}) == 2
    assert "Pulumi.qa.yaml: no such stack file" in capsys.readouterr().err


def test_dry_run_prints_the_commands_and_runs_nothing(capsys):
    def runner(*_, **__):
        raise AssertionError("nothing may run in a dry run")

    env = {"IMAGE_REGISTRY_PASSWORD": SECRET}
    settings = external()
    plan = release.prepare(settings, "1.2.0", False, False, True, env, lambda _: None, lambda e: [])
    assert "< $IMAGE_REGISTRY_PASSWORD" in plan.steps[1].display()
    assert release.handle(args("--stack", "staging", "1.2.0", "--dry-run"), runner=runner, env={},
                          tags_of=lambda e: []) == 0
    out = capsys.readouterr().out
    assert "docker build --build-arg APP_VERSION=1.2.0 --tag localhost:5050/echo-version:1.2.0" in out
    assert "docker push localhost:5050/echo-version:1.2.0" in out


def test_watch_with_an_explicit_kubeconfig_uses_it_as_is(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(release, "POLL_SECONDS", 0)
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    runner = ScriptedKubectl([{"phase": "Succeeded"}], lambda _: {"items": [
        deployment("echo-version", "r/echo-version:1.2.0"),
        deployment("echo-version-primary", "r/echo-version:1.2.0")]})
    code = release.handle(args("--stack", "staging", "1.2.0", "--watch", "--kubeconfig", str(kubeconfig)),
                          runner=runner, env={"KUBECONFIG": "/elsewhere"}, tags_of=lambda e: [])
    assert code == 0
    assert not any(call[0] == "k3d" for call in runner.calls)
    assert any(call[:3] == ["kubectl", "--kubeconfig", str(kubeconfig)] for call in runner.calls)
    assert kubeconfig.exists()


def test_initial_release_waits_for_a_fresh_registry_then_gives_up():
    pauses = []
    with pytest.raises(RegistryUnreachable):
        release._tags(RegistryEndpoint("http://127.0.0.1:9", "echo-version"), initial=True, sleep=pauses.append)
    assert len(pauses) == 9
    pauses.clear()
    with pytest.raises(RegistryUnreachable):
        release._tags(RegistryEndpoint("http://127.0.0.1:9", "echo-version"), initial=False, sleep=pauses.append)
    assert pauses == []
