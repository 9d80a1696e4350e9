"""The README tells the truth: its commands, every setting, every CLI command."""

from __future__ import annotations

import re

from progressive_delivery import config
from progressive_delivery.__main__ import COMMANDS

README = (config.PROJECT_ROOT / "README.md").read_text()
CI_RUN = (config.PROJECT_ROOT / ".ci" / "run").read_text()


def readme_commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", README)


def test_ci_runs_the_readme_test_command():
    test_command = next(c for c in readme_commands() if "pytest" in c)
    assert test_command in CI_RUN.splitlines()


def test_readme_sets_up_and_runs_the_staging_stack():
    assert "pulumi stack select --create staging && pulumi up --stack staging" in readme_commands()


def test_every_setting_is_documented():
    for key in [*config.DEFAULTS, *config.SECRET_KEYS]:
        assert f"`{key}`" in README, f"setting {key} is missing from the README"


def test_every_cli_command_is_documented():
    for command in COMMANDS:
        assert f"python -m progressive_delivery {command}" in README, f"command {command} is not documented"
