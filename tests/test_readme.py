"""The README tells the truth and stays short: its two commands up front, every setting, every CLI
command and the end-to-end steps documented, and every document it links present."""

from __future__ import annotations

import re

import yaml

from progressive_delivery import config, pins
from progressive_delivery.__main__ import COMMANDS
from progressive_delivery.project import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text()
SETTINGS = (PROJECT_ROOT / "docs" / "settings.md").read_text()
CI_RUN = (PROJECT_ROOT / ".ci" / "run").read_text()
FIRST_SCREEN = 50


def readme_commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", README, flags=re.S)


def test_the_readme_is_a_few_pages_with_both_commands_on_its_first_screen():
    lines = README.splitlines()
    assert len(lines) < 250
    first_screen = "\n".join(lines[:FIRST_SCREEN])
    assert "pulumi stack select --create staging && pulumi up --stack staging" in first_screen
    assert ".venv/bin/python -m pytest -q" in first_screen


def test_ci_runs_the_readme_test_command():
    test_command = next(c for c in readme_commands() if "pytest" in c)
    assert test_command in CI_RUN.splitlines()


def test_readme_sets_up_and_runs_the_staging_stack():
    assert "pulumi stack select --create staging && pulumi up --stack staging" in readme_commands()


def test_every_setting_is_documented():
    for key in [*config.DEFAULTS, *config.SECRET_KEYS]:
        assert f"`{key}`" in SETTINGS, f"setting {key} is missing from docs/settings.md"


def test_every_cli_command_is_documented():
    for command in COMMANDS:
        assert f"python -m progressive_delivery {command}" in README, f"command {command} is not documented"


def test_every_linked_document_exists():
    for target in re.findall(r"\]\(([^)#:]+)\)", README):
        assert (PROJECT_ROOT / target).exists(), target


def test_the_prerequisites_follow_the_versions_record():
    k3d = pins.pin("k3d")
    assert f"k3d {k3d.minimum}+" in README and f"not {k3d.refused[0].version}" in README
    assert f"Pulumi CLI {pins.pin('pulumi-cli').minimum.rsplit('.', 1)[0]}+" in README
    assert f"kubectl {pins.pin('kubectl').minimum.rsplit('.', 1)[0]}+" in README


def test_the_end_to_end_workflow_runs_the_readme_steps():
    workflow = yaml.safe_load((PROJECT_ROOT / ".github" / "workflows" / "e2e.yaml").read_text())
    steps = workflow["jobs"]["e2e"]["steps"]
    by_hand = [line.strip() for block in readme_commands() for line in block.splitlines()]
    checked = 0
    for step in steps:
        if "run" not in step or step.get("if") == "failure()" or step.get("name", "").startswith(
                ("Install the pinned", "The token secret")):
            continue
        for line in step["run"].strip().splitlines():
            if line.startswith(("mkdir", "passphrase=", "echo ")):
                continue
            assert line.strip() in by_hand, f"e2e step {step.get('name')!r} runs {line!r}, not in the README"
            checked += 1
    assert checked >= 8
    assert steps[-1]["if"] == "always()" and "pulumi destroy" in steps[-1]["run"]
