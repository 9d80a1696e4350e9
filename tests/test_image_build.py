"""Building and pushing echo-version: the plan of commands, and running it with secrets on stdin only."""

from __future__ import annotations

import re

from release_fixtures import external, staging

from progressive_delivery import config
from progressive_delivery.image_build import build_args, build_plan, execute
from progressive_delivery.process import Result, ToolMissing

SECRET = "s3cr3t-registry-token"


class Recorder:
    """A Runner that records each command, its stdin and environment, and answers with `code`."""

    def __init__(self, code: int = 0):
        self.code = code
        self.calls: list[tuple[tuple[str, ...], str | None, dict]] = []

    def __call__(self, argv, *, env=None, stdin=None, capture=True, timeout=None):
        self.calls.append((tuple(argv), stdin, dict(env or {})))
        return Result(self.code)


def test_plan_builds_and_pushes_to_the_staging_registry():
    plan = build_plan(staging(), "1.2.0")
    assert plan.image == "localhost:5050/echo-version:1.2.0"
    build, push = plan.steps
    assert build.argv == ("docker", "build", "--build-arg", "APP_VERSION=1.2.0",
                          "--tag", "localhost:5050/echo-version:1.2.0", str(config.APP_SOURCE))
    assert push.argv == ("docker", "push", "localhost:5050/echo-version:1.2.0")


def test_plan_uses_the_production_registry_port():
    plan = build_plan(config.load_stack("production", env={}), "2.0.0")
    assert plan.steps[-1].argv == ("docker", "push", "localhost:5051/echo-version:2.0.0")


def test_build_args_are_declared_by_the_dockerfile():
    declared = set(re.findall(r"^ARG (\w+)", (config.APP_SOURCE / "Dockerfile").read_text(), flags=re.M))
    assert set(build_args("1.0.0", faulty=True)) <= declared


def test_faulty_release_bakes_in_errors_and_latency():
    argv = build_plan(staging(), "1.3.0", faulty=True).steps[0].argv
    pairs = {argv[i + 1] for i, arg in enumerate(argv) if arg == "--build-arg"}
    assert pairs == {"APP_VERSION=1.3.0", "FAULT_ERROR_RATE=0.5", "FAULT_DELAY_SECONDS=0.5"}


def test_external_registry_is_logged_into_with_its_own_password_on_stdin_only():
    plan = build_plan(external(), "1.2.0")
    assert plan.image == "ghcr.io/acme/echo-version:1.2.0"
    assert [s.argv[1] for s in plan.steps] == ["build", "login", "push"]
    login = plan.steps[1]
    assert login.argv == ("docker", "login", "ghcr.io", "--username", "acme", "--password-stdin")
    assert login.stdin_from == config.REGISTRY_PASSWORD_VARIABLE
    assert login.display().endswith("--password-stdin < $IMAGE_REGISTRY_PASSWORD")

    runner = Recorder()
    env = {config.REGISTRY_PASSWORD_VARIABLE: SECRET, "GITHUB_TOKEN": "github-token"}
    assert execute(plan, runner, env, out=lambda line: None) == 0
    assert [stdin for _, stdin, _ in runner.calls] == [None, SECRET, None]
    for argv, _, step_env in runner.calls:
        assert not any(SECRET in arg or "github-token" in arg for arg in argv)
        assert SECRET not in step_env.values()
    assert SECRET not in "\n".join(step.display() for step in plan.steps)


def test_the_local_registry_has_no_login_step():
    assert all(step.stdin_from is None for step in build_plan(staging(), "1.2.0").steps)


def test_execute_stops_at_the_first_failing_step():
    runner, lines = Recorder(code=1), []
    assert execute(build_plan(staging(), "1.2.0"), runner, {}, lines.append) == 1
    assert len(runner.calls) == 1
    assert "docker build` failed with exit code 1" in lines[-1]


def test_missing_docker_is_one_line():
    def runner(argv, **_):
        raise ToolMissing(argv[0])

    lines: list[str] = []
    assert execute(build_plan(staging(), "1.2.0"), runner, {}, lines.append) == 1
    assert lines[-1] == "error: 'docker' is not installed or not on PATH; install Docker 24 or newer and start it"


def test_a_quiet_build_keeps_its_log_and_shows_only_the_tail_of_a_failure():
    log = "\n".join(f"step {n}" for n in range(100))
    captured: list[bool] = []

    def runner(argv, *, env=None, stdin=None, capture=True, timeout=None):
        captured.append(capture)
        return Result(0 if argv[1] == "build" else 1, log, "denied: requested access to the resource")

    lines: list[str] = []
    assert execute(build_plan(staging(), "1.2.0"), runner, {}, lines.append, quiet=True) == 1
    assert captured == [True, True], "a quiet run captures every tool's output"
    assert "step 0" not in "\n".join(lines) and "    step 99" in lines
    assert "    denied: requested access to the resource" in lines
    assert len(lines) <= 2 + 1 + 40 + 1
