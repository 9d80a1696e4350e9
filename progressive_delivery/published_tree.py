"""Publishing of platform/ into the stack's repository, as a command resource.

The command runs the project's own `publish` CLI (one commit, merge-preserving,
never a force push). It runs on create, whenever the content of platform/
changes (its trigger is a digest of the tree, which carries no absolute path,
so CI and a laptop compute the same one) and when the repository is recreated. The deploy key reaches it through a
secret environment variable, never the command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi_command import local

from .publish_source import tree_digest
from .shell import cli, relative_to_project

KEY_VARIABLE = "PD_DEPLOY_KEY"


@dataclass
class PublishedTreeArgs:
    """What to publish where, and what must exist first."""

    source: Path
    remote: pulumi.Input[str]
    branch: str
    private_key: pulumi.Input[str]
    depends_on: Sequence[pulumi.Resource]
    # Identity of the repository: a repository recreated under the same name is published again.
    repository_id: pulumi.Input[str] | None = None


class PublishedTree(pulumi.ComponentResource):
    """platform/ published into the repository's branch."""

    digest: pulumi.Output[str]

    def __init__(self, name: str, args: PublishedTreeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:publish:PublishedTree", name, None, opts)
        digest = tree_digest(args.source)
        create = pulumi.Output.from_input(args.remote).apply(lambda remote: cli(
            "publish",
            "--source", relative_to_project(args.source),
            "--remote", remote,
            "--branch", args.branch,
            "--ssh-key-env", KEY_VARIABLE,
        ))
        self.command = local.Command(
            name,
            create=create,
            environment={KEY_VARIABLE: pulumi.Output.secret(args.private_key)},
            triggers=[digest, *([args.repository_id] if args.repository_id is not None else [])],
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.digest = pulumi.Output.from_input(digest)
        self.register_outputs({"digest": self.digest})
