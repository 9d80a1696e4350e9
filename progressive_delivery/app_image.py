"""The first echo-version image, built and pushed so the app runs after the first `pulumi up`.

It runs the project's own `release` CLI with `--initial` (build and push the
configured version unless the registry already has it), so the program and a
person releasing by hand build images the same way. It runs again when the
version changes (a new image needs a new version: the registry and Flux tell
images apart by tag), and when the cluster, and so the local registry created
with it, is new, since a new registry starts empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_command import local

from .config import REGISTRY_PASSWORD_VARIABLE
from .settings import Settings
from .shell import cli


@dataclass
class AppImageArgs:
    """The stack whose registry receives the image, and what must exist first."""

    settings: Settings
    depends_on: Sequence[pulumi.Resource] = ()
    registry_password: pulumi.Input[str] | None = None
    # Identity of the local registry's cluster: a new cluster starts with an empty registry.
    registry_identity: pulumi.Input[str] | None = None


class AppImage(pulumi.ComponentResource):
    """echo-version at the stack's `appVersion`, in the stack's registry."""

    image: pulumi.Output[str]

    def __init__(self, name: str, args: AppImageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:image:AppImage", name, None, opts)
        settings = args.settings
        environment: dict[str, pulumi.Input[str]] = {}
        if args.registry_password is not None:
            environment[REGISTRY_PASSWORD_VARIABLE] = pulumi.Output.secret(args.registry_password)
        triggers: list[pulumi.Input[str]] = [settings.app_version]
        if args.registry_identity is not None:
            triggers.append(args.registry_identity)
        self.command = local.Command(
            name,
            create=cli("release", "--stack", settings.stack, settings.app_version, "--initial"),
            environment=environment,
            triggers=triggers,
            logging=local.Logging.STDOUT_AND_STDERR,
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.image = pulumi.Output.from_input(settings.image(settings.app_version))
        self.register_outputs({"image": self.image})
