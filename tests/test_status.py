"""The status command: the table and its exit code, what it says when the cluster cannot be used, and cleanup."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
from pathlib import Path

import pytest
from processes import start_command, stop_with, wait_for
from release_fixtures import CONNECTION_REFUSED, NO_NODES, FakeTools, cluster_list
from test_known_failures import NO_SUCH_HOST, image_repository
from test_readiness import HEALTHY

from progressive_delivery import readiness, status
from progressive_delivery.process import Result

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def cluster(objects: dict | None = None, unreachable: bool = False, missing: tuple = (), **tools) -> FakeTools:
    """k3d, and kubectl answering `get <kind> -A -o json` from `objects`."""
    def kubectl(argv: list[str]) -> Result:
        if unreachable:
            return Result(1, "", CONNECTION_REFUSED)
        kind = next(k for k in readiness.KINDS if k.resource in argv)
        if kind.name in missing:
            return Result(1, "", f'error: the server doesn\'t have a resource type "{kind.resource}"')
        return Result(0, json.dumps({"items": (objects or {}).get(kind.name, [])}))

    return FakeTools(kubectl, **tools)


def args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    status.register(parser.add_subparsers())
    return parser.parse_args(["status", *argv])


def test_all_ready_exits_0(capsys):
    tools = cluster(HEALTHY)
    assert status.handle(args("--stack", "staging"), runner=tools, env={}) == 0
    out = capsys.readouterr().out
    assert "Canary" in out and "latest image localhost/echo-version:1.2.0" in out and "hint:" not in out
    assert tools.calls[0] == ["k3d", "kubeconfig", "get", "pd-staging"]
    assert set(tools.kubeconfig_modes) == {0o600}
    (kubeconfig,) = tools.kubeconfig_files()
    assert not kubeconfig.exists()
    assert all("--all-namespaces" in call and "json" in call for call in tools.calls[1:])


def test_the_production_stack_reads_its_own_cluster():
    tools = cluster(HEALTHY)
    status.handle(args("--stack", "production"), runner=tools, env={}, out=lambda _: None)
    assert tools.calls[0] == ["k3d", "kubeconfig", "get", "pd-production"]


def test_a_kind_not_installed_exits_1(capsys):
    assert status.handle(args("--stack", "staging"), runner=cluster(HEALTHY, missing=("Canary",)), env={}) == 1
    assert "kind not served yet" in capsys.readouterr().out


def test_a_lost_registry_name_is_a_hint_under_the_table(capsys):
    objects = dict(HEALTHY, ImageRepository=[image_repository(NO_SUCH_HOST)])
    assert status.handle(args("--stack", "staging"), runner=cluster(objects), env={}) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("hint: ImageRepository flux-system/echo-version cannot resolve the local registry "
                                "'k3d-pd-staging-registry'")
    assert lines[-2].endswith("ready")


def error_of(tools: FakeTools, capsys, *argv: str) -> str:
    """The one line `status` prints for a cluster it cannot use; asserts exit code 2."""
    assert status.handle(args("--stack", "staging", *argv), runner=tools, env={}) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    (line,) = captured.err.splitlines()
    return line


def test_a_cluster_that_is_gone_prints_the_command_that_creates_it(capsys):
    line = error_of(FakeTools(kubeconfig=Result(1, "", NO_NODES), clusters=cluster_list("pd-production")), capsys)
    assert line == ("error: k3d cluster 'pd-staging' of stack 'staging' does not exist (k3d lists no cluster of "
                    "that name): it was deleted, or the stack was never brought up; `pulumi up --stack staging` "
                    "creates it")


def test_docker_down_is_not_a_cluster_that_is_gone(capsys):
    down = Result(1, "", "FATA[0000] runtime failed to list nodes: Cannot connect to the Docker daemon")
    line = error_of(FakeTools(kubeconfig=Result(1, "", NO_NODES), clusters=down), capsys)
    assert "k3d cannot list its clusters" in line and "is Docker running?" in line and "pulumi up" not in line


def test_an_unreachable_api_of_a_running_cluster(capsys):
    line = error_of(cluster(unreachable=True), capsys)
    assert line.startswith("error: cannot reach the cluster of stack 'staging' (k3d cluster pd-staging): "
                           "the API server does not answer (Unable to connect to the server")
    assert line.endswith("is the cluster running?")


def test_an_unreachable_api_of_a_stopped_cluster_names_the_command_that_starts_it(capsys):
    line = error_of(cluster(unreachable=True, clusters=cluster_list("pd-staging", running=0)), capsys)
    assert line.endswith("k3d cluster 'pd-staging' is stopped; start it with `k3d cluster start pd-staging`")


@pytest.mark.parametrize("name,problem", [("missing", ": no such file"), ("", " is a directory")])
def test_an_explicit_kubeconfig_that_is_no_file_exits_2(tmp_path, capsys, name, problem):
    path = tmp_path / name if name else tmp_path
    tools = cluster(HEALTHY)
    assert error_of(tools, capsys, "--kubeconfig", str(path)).startswith(f"error: --kubeconfig {path}{problem}")
    assert tools.calls == []


def test_unreadable_settings_exit_2(capsys):
    assert status.handle(args("--stack", "qa"), runner=cluster(HEALTHY), env={}) == 2
    assert "Pulumi.qa.yaml: no such stack file" in capsys.readouterr().err


def test_the_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        args("--help")
    text = " ".join(capsys.readouterr().out.split())
    assert "0 every object is Ready; 1 something is not Ready" in text
    assert "2 nothing could be shown" in text


# --------------------------------------------------------------------------- the real command, in a process

@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("kubeconfig", ["/etc/passwd", "{tmp}", "{tmp}/missing"])
def test_an_unusable_kubeconfig_is_one_line_and_exit_2(tmp_path, kubeconfig):
    path = kubeconfig.format(tmp=tmp_path)
    process = start_command("status", "--stack", "staging", "--kubeconfig", path)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2, err
    assert out == "" and len(err.splitlines()) == 1 and err.startswith(f"error: --kubeconfig {path}")


@pytest.fixture
def stalled_cluster(tmp_path: Path) -> dict[str, str]:
    """PATH with a `k3d` that prints a kubeconfig and a `kubectl` that hangs after noting which one it got."""
    tools, temporary = tmp_path / "bin", tmp_path / "tmp"
    tools.mkdir()
    temporary.mkdir()
    (tools / "k3d").write_text("#!/bin/sh\ncat <<'EOF'\napiVersion: v1\nkind: Config\nEOF\n")
    (tools / "kubectl").write_text('#!/bin/sh\nls "$TMPDIR" > "$PD_TEST_STARTED.part"\n'
                                   'mv "$PD_TEST_STARTED.part" "$PD_TEST_STARTED"\nexec sleep 60\n')
    for tool in tools.iterdir():
        tool.chmod(0o755)
    return {"PATH": f"{tools}{os.pathsep}{os.environ['PATH']}", "TMPDIR": str(temporary),
            "PD_TEST_STARTED": str(tmp_path / "started")}


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a child of a test runner may inherit SIGINT ignored


@pytest.mark.parametrize("signum,said", [
    (signal.SIGTERM, "stopped by SIGTERM"), (signal.SIGHUP, "stopped by SIGHUP"), (signal.SIGINT, "interrupted"),
])
def test_a_stopped_status_leaves_no_kubeconfig_behind(stalled_cluster, signum, said):
    started, temporary = Path(stalled_cluster["PD_TEST_STARTED"]), Path(stalled_cluster["TMPDIR"])
    process = start_command("status", "--stack", "staging", env=stalled_cluster, preexec_fn=_default_sigint)
    try:
        wait_for(lambda: started.exists() or process.poll() is not None, timeout=30)
        assert started.exists(), process.communicate(timeout=5)
        seen = started.read_text().split()
        assert len(seen) == 1 and seen[0].startswith("pd-kubeconfig-"), seen  # kubectl ran with the file there
    finally:
        _, err = stop_with(process, signum, timeout=30)
    assert process.returncode == 128 + signum, err
    assert said in err
    assert list(temporary.glob("pd-kubeconfig-*")) == []
