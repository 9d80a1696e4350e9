"""The GitHub workflows: valid, running the README's test command, previewing every stack, building images."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from progressive_delivery import config, versions

WORKFLOWS = config.PROJECT_ROOT / ".github" / "workflows"
CI_RUN = config.PROJECT_ROOT / ".ci" / "run"
README = config.PROJECT_ROOT / "README.md"


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the key `on` as the boolean true.
    return workflow.get("on", workflow.get(True))


def steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def run_lines(workflow: dict, job: str) -> list[str]:
    return [step["run"].strip() for step in steps(workflow, job) if "run" in step]


def action(workflow: dict, job: str, name: str) -> dict:
    (step,) = [s for s in steps(workflow, job) if s.get("uses", "").startswith(f"{name}@")]
    return step


def all_workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yaml"), *WORKFLOWS.glob("*.yml")])


def check_jsonschema_command() -> list[str]:
    console_script = Path(sys.executable).with_name("check-jsonschema")
    if console_script.exists():
        return [str(console_script)]
    return [sys.executable, "-m", "check_jsonschema"]


def test_every_workflow_is_valid_against_the_github_workflow_schema():
    files = all_workflow_files()
    assert {f.name for f in files} >= {"ci.yaml", "image.yaml"}
    result = subprocess.run([*check_jsonschema_command(), "--builtin-schema", "vendor.github-workflows",
                             *map(str, files)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("on: push\njobs:\n  tests:\n    runs-on: ubuntu-latest\n    steps: run pytest\n")
    result = subprocess.run([*check_jsonschema_command(), "--builtin-schema", "vendor.github-workflows",
                             str(broken)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr


def test_every_action_is_pinned_to_a_major_version():
    for path in all_workflow_files():
        workflow = yaml.safe_load(path.read_text())
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                if "uses" in step:
                    assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), f"{path.name}: {step['uses']}"


def test_no_expression_is_expanded_inside_a_script():
    """Secrets and event data reach scripts through `env:`, never through `${{ }}` in `run:`."""
    for path in all_workflow_files():
        workflow = yaml.safe_load(path.read_text())
        for name, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                assert "${{" not in step.get("run", ""), f"{path.name} job {name}: {step['run']}"


# --------------------------------------------------------------------------- ci.yaml

def ci_run_test_command() -> str:
    lines = [line.strip() for line in CI_RUN.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#") and "pytest" in line][-1]


def test_ci_runs_the_same_test_command_as_ci_run_and_the_readme():
    command = ci_run_test_command()
    ci = load("ci.yaml")
    assert command in run_lines(ci, "tests"), "ci.yaml must run the test command of .ci/run as one step"
    readme_commands = re.findall(r"```bash\n(.+?)\n```", README.read_text(), flags=re.S)
    assert command in [line.strip() for block in readme_commands for line in block.splitlines()]


def test_ci_runs_the_platform_check_after_the_tests():
    ci = load("ci.yaml")
    lines = run_lines(ci, "tests")
    check = ".venv/bin/python -m progressive_delivery check"
    assert check in lines and lines.index(check) > lines.index(ci_run_test_command())
    assert check in CI_RUN.read_text().splitlines()
    assert set(triggers(ci)) == {"push", "pull_request"}


def test_preview_covers_every_stack():
    preview = load("ci.yaml")["jobs"]["preview"]
    assert preview["needs"] == "tests"
    assert sorted(preview["strategy"]["matrix"]["stack"]) == config.available_stacks()
    assert preview["strategy"]["fail-fast"] is False


def test_preview_runs_pulumi_with_a_local_backend_and_repository_secrets():
    ci = load("ci.yaml")
    job = ci["jobs"]["preview"]
    assert job["env"]["PULUMI_BACKEND_URL"] == "file://${{ github.workspace }}/.pulumi-state"
    step = action(ci, "preview", "pulumi/actions")
    assert step["with"]["command"] == "preview"
    assert step["with"]["stack-name"] == "${{ matrix.stack }}"
    assert step["with"]["upsert"] is True
    assert step["with"]["cloud-url"] == "${{ env.PULUMI_BACKEND_URL }}"
    assert step["with"]["secrets-provider"] == "passphrase"
    assert step["env"] == {
        "PULUMI_CONFIG_PASSPHRASE": "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
        # The workflow's own GITHUB_TOKEN cannot create repositories: a token kept as a secret is used.
        "GITHUB_TOKEN": "${{ secrets.PD_GITHUB_TOKEN }}",
        "GITHUB_OWNER": "${{ github.repository_owner }}",
    }
    assert "pull-requests" not in ci.get("permissions", {})


def test_preview_installs_the_requirements_where_pulumi_yaml_expects_them():
    runtime = yaml.safe_load((config.PROJECT_ROOT / "Pulumi.yaml").read_text())["runtime"]["options"]
    assert runtime == {"toolchain": "pip", "virtualenv": "venv"}
    ci = load("ci.yaml")
    assert "actions/setup-python@v7" in [s.get("uses") for s in steps(ci, "preview")]
    venv = runtime["virtualenv"]
    assert f"python -m venv {venv} && {venv}/bin/pip install -r requirements.txt" in run_lines(ci, "preview")


# --------------------------------------------------------------------------- image.yaml

def test_image_workflow_triggers_and_permissions():
    image = load("image.yaml")
    on = triggers(image)
    assert on["push"] == {"tags": ["echo-version/v*"]}
    assert on["workflow_dispatch"]["inputs"]["version"]["required"] is True
    assert image["permissions"]["packages"] == "write"
    login = action(image, "build", "docker/login-action")
    assert login["with"] == {"registry": "ghcr.io", "username": "${{ github.actor }}",
                             "password": "${{ secrets.GITHUB_TOKEN }}"}


def test_image_workflow_builds_the_app_with_its_version():
    image = load("image.yaml")
    build = action(image, "build", "docker/build-push-action")["with"]
    assert build["context"] == "applications/echo-version"
    assert (config.PROJECT_ROOT / build["context"]).as_posix().endswith("applications/echo-version")
    assert build["build-args"].splitlines() == [
        "APP_VERSION=${{ steps.image.outputs.version }}",
        "VCS_REF=${{ github.sha }}",
        "SOURCE_URL=${{ github.server_url }}/${{ github.repository }}",
    ]
    dockerfile = (config.PROJECT_ROOT / build["context"] / "Dockerfile")
    if dockerfile.exists():
        declared = re.findall(r"^ARG (\w+)", dockerfile.read_text(), flags=re.M)
        assert {arg.split("=")[0] for arg in build["build-args"].splitlines()} <= set(declared)
    assert build["tags"] == "${{ steps.image.outputs.image }}"
    assert build["push"] is True


def run_version_step(tmp_path: Path, event: str, tag: str = "", version: str = "",
                     owner: str = "Acme-Org") -> tuple[int, dict[str, str], str]:
    """Run the workflow's version step with bash, as the runner does."""
    (step,) = [s for s in steps(load("image.yaml"), "build") if s.get("id") == "image"]
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    output = tmp_path / "output"
    output.write_text("")
    env = {"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(output), "EVENT": event, "TAG": tag,
           "INPUT_VERSION": version, "OWNER": owner}
    assert set(step["env"]) == set(env) - {"PATH", "GITHUB_OUTPUT"}
    result = subprocess.run(["bash", "-e", str(script)], env=env, capture_output=True, text=True, timeout=30)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return result.returncode, outputs, result.stdout + result.stderr


def test_image_version_comes_from_the_tag(tmp_path):
    code, outputs, _ = run_version_step(tmp_path, "push", tag="echo-version/v1.2.0")
    assert code == 0
    assert outputs == {"version": "1.2.0", "image": "ghcr.io/acme-org/echo-version:1.2.0"}


def test_image_version_comes_from_the_dispatch_input(tmp_path):
    code, outputs, _ = run_version_step(tmp_path, "workflow_dispatch", tag="main", version="1.3.0-rc.2")
    assert code == 0 and outputs["version"] == "1.3.0-rc.2"


@pytest.mark.parametrize("version", ["1.2.0", "0.1.0", "1.2.0-rc.1", "1.2", "v1.2.0", "1.2.0-beta.1",
                                     "01.2.0", "1.2.0+build", "1.2.0-rc.01", "$(id)"])
def test_image_version_check_agrees_with_the_release_command(tmp_path, version):
    code, outputs, log = run_version_step(tmp_path, "workflow_dispatch", version=version)
    accepted = versions.policy_for("staging").accepts(version)
    assert (code == 0) == accepted, log
    if not accepted:
        assert "use x.y.z or x.y.z-rc.N" in log and outputs == {}
