"""platform/ published into the stack's repository, as a command resource, and that branch made the default.

The command runs the project's own `publish` CLI (one commit, merge-preserving,
never a force push). It runs on create, whenever the content of platform/
changes (its trigger is a digest of the tree, which carries no absolute path,
so CI and a laptop compute the same one) and when the repository is
recreated. Its only output is the commit the branch points at afterwards,
which the Flux sync objects wait for. The deploy key reaches it through a
secret environment variable, never the command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_github as github
from pulumi_command import local

from .publish_source import SourceTreeError, tree_digest
from .shell import cli, relative_to_project

KEY_VARIABLE = "PD_DEPLOY_KEY"


@dataclass
class PublishedTreeArgs:
    """What to publish where, and what must exist first."""

    source: Path
    remote: pulumi.Input[str]
    branch: str
    repository_name: pulumi.Input[str]
    private_key: pulumi.Input[str]
    # Identity of the repository: a repository recreated under the same name is published again.
    repository_id: pulumi.Input[str]
    depends_on: Sequence[pulumi.Resource] = ()


class PublishedTree(pulumi.ComponentResource):
    """platform/ published into the repository's branch, which becomes the default branch."""

    digest: pulumi.Output[str]
    commit: pulumi.Output[str]

    def __init__(self, name: str, args: PublishedTreeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:publish:PublishedTree", name, None, opts)
        try:
            digest = tree_digest(args.source)
        except SourceTreeError as error:
            raise pulumi.RunError(str(error)) from None
        create = pulumi.Output.from_input(args.remote).apply(lambda remote: cli(
            "publish",
            "--source", relative_to_project(args.source),
            "--remote", remote,
            "--branch", args.branch,
            "--ssh-key-env", KEY_VARIABLE,
            "--porcelain",
        ))
        self.command = local.Command(
            name,
            create=create,
            environment={KEY_VARIABLE: pulumi.Output.secret(args.private_key)},
            triggers=[digest, args.repository_id],
            logging=local.Logging.STDERR,
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.default_branch = github.BranchDefault(
            f"{name}-default-branch",
            repository=args.repository_name,
            branch=args.branch,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.command]),
        )
        self.digest = pulumi.Output.from_input(digest)
        self.commit = pulumi.Output.unsecret(self.command.stdout).apply(lambda out: out.strip())
        self.register_outputs({"digest": self.digest, "commit": self.commit})
