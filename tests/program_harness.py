"""Runs the Pulumi program (`__main__.py`) under Pulumi mocks and records what it registers.

No Pulumi CLI is involved: settings are read from `Pulumi.<stack>.yaml`
(plus overrides) and given to the runtime as stack config before the program
runs; every resource registration is recorded with its inputs (secrets still
wrapped), dependencies, provider, parent and options. The preflight is off
(PD_PREFLIGHT=0), Flux's manifest is a small stand-in whose digest stands in
for the pinned one, and the CLI version the program requires is recorded.
"""

from __future__ import annotations

import hashlib
import os
import runpy
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks, rpc

from progressive_delivery import cluster, pins, preflight_context
from progressive_delivery.project import PROJECT, PROJECT_ROOT

COMMAND = "command:local:Command"  # the type of every command resource
FAKE_KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    client-key-data: S0VZ\n"
FAKE_PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nZmFrZQ==\n-----END OPENSSH PRIVATE KEY-----\n"
FAKE_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests"
FAKE_PASSWORD = "generated-grafana-password"
FLUX_MANIFEST = PROJECT_ROOT / "tests" / "data" / "flux-install.yaml"


@dataclass
class Registration:
    """One resource as the program registered it."""

    type: str
    name: str
    urn: str
    inputs: dict
    dependencies: list[str]
    provider: str
    parent: str
    deleted_with: str
    delete_before_replace: bool
    additional_secret_outputs: list[str]
    custom_timeouts: Any = None

    def plain(self, key: str) -> Any:
        """An input with secret markers removed."""
        return unwrap(self.inputs.get(key))


def is_secret(value: Any) -> bool:
    return rpc.is_rpc_secret(value)


def unwrap(value: Any) -> Any:
    if is_secret(value):
        return unwrap(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


class _Mocks(pulumi.runtime.Mocks):
    """Returns plausible outputs for the resources whose outputs the program uses."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        state = dict(args.inputs)
        if args.typ == COMMAND:
            state["stdout"] = self.command_stdout(args.name, unwrap(args.inputs.get("triggers")))
        elif args.typ == "tls:index/privateKey:PrivateKey":
            state.update(private_key_openssh=FAKE_PRIVATE_KEY, public_key_openssh=FAKE_PUBLIC_KEY)
        elif args.typ == "github:index/repository:Repository":
            name = unwrap(args.inputs.get("name"))
            state.update(html_url=f"https://github.com/{REPOSITORY_OWNER}/{name}",
                         full_name=f"{REPOSITORY_OWNER}/{name}", node_id=f"R_{name}")
        elif args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = FAKE_PASSWORD
        return f"{args.name}-id", state

    @staticmethod
    def command_stdout(name: str, triggers: Any) -> str:
        """What the program's commands print: the kubeconfig, the published commit (it follows the tree)."""
        if name == "cluster":
            return FAKE_KUBECONFIG
        if name == "platform":
            return hashlib.sha1(repr(triggers).encode()).hexdigest()
        return ""

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


class _RecordingMonitor(mocks.MockMonitor):
    def __init__(self, mocks_: pulumi.runtime.Mocks):
        super().__init__(mocks_)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(Registration(
                type=request.type,
                name=request.name,
                urn=response.urn,
                inputs=rpc.deserialize_properties(request.object),
                dependencies=list(request.dependencies),
                provider=request.provider,
                parent=request.parent,
                deleted_with=request.deletedWith,
                delete_before_replace=request.deleteBeforeReplace,
                additional_secret_outputs=list(request.additionalSecretOutputs),
                custom_timeouts=request.customTimeouts,
            ))
        return response


@dataclass
class Evaluation:
    """What one run of the program registered and exported."""

    stack: str
    registrations: list[Registration]
    outputs: dict = field(default_factory=dict)
    required_cli: str | None = None

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registration:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def kubernetes_object(self, kind: str, name: str) -> Registration:
        found = [r for r in self.registrations
                 if r.type.startswith("kubernetes:") and unwrap(r.inputs.get("kind")) == kind
                 and unwrap(r.inputs.get("metadata", {})).get("name") == name]
        assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    @property
    def published_commit(self) -> str:
        """The commit the mocked publish command reported."""
        publish = self.one(COMMAND, "platform")
        return _Mocks.command_stdout("platform", publish.plain("triggers"))


def stack_config(stack: str) -> dict[str, str]:
    document = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())
    return {key: str(value) for key, value in (document.get("config") or {}).items()}


@contextmanager
def _environment(values: Mapping[str, str | None]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


RUNNING_INSTANCE = "4f2a9c0d1e2b"
# What the last run registered, kept even when the program stopped with an error.
LAST_REGISTRATIONS: list[Registration] = []
# GitHub answers with the owner it really created the repository under.
REPOSITORY_OWNER = "acme"
DEFAULT_ENV = {"GITHUB_TOKEN": "ghp_testtoken0123456789", "GITHUB_OWNER": "acme", "PD_PREFLIGHT": "0",
               "PD_FLUX_MANIFEST": str(FLUX_MANIFEST)}


def evaluate(stack: str, overrides: Mapping[str, str | None] | None = None,
             secrets: Mapping[str, str] | None = None,
             env: Mapping[str, str | None] | None = None,
             docker_sees: Callable[..., dict[str, str] | None] | None = None,
             preview: bool = False) -> Evaluation:
    """Run `__main__.py` for a stack; `overrides` maps keys (without namespace) to values or None to unset."""
    config = stack_config(stack)
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = str(value)
    config.update(secrets or {})
    return run_under_mocks(
        stack, lambda: runpy.run_path(str(PROJECT_ROOT / "__main__.py"), run_name="__main__"),
        config=config, secret_keys=list(secrets or {}), env={**DEFAULT_ENV, **(env or {})},
        docker_sees=docker_sees, preview=preview)


def running_cluster(stack: str) -> Callable[..., dict[str, str]]:
    """What Docker says of a k3d cluster this stack created and runs (instance `RUNNING_INSTANCE`)."""
    labels = {cluster.STACK_LABEL: stack, cluster.INSTANCE_LABEL: RUNNING_INSTANCE}
    return lambda runner, name: labels


def run_under_mocks(stack: str, body: Callable[[], Any], config: Mapping[str, str] | None = None,
                    secret_keys: Sequence[str] = (), env: Mapping[str, str | None] | None = None,
                    docker_sees: Callable[..., dict[str, str] | None] | None = None,
                    preview: bool = False) -> Evaluation:
    """Run `body` as a Pulumi program of `stack` under mocks and record what it registers and exports."""
    global LAST_REGISTRATIONS
    monitor = _RecordingMonitor(_Mocks())
    LAST_REGISTRATIONS = monitor.registrations
    pulumi.runtime.settings.reset_options(project=PROJECT, stack=stack)
    pulumi.runtime.set_mocks(_Mocks(), project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(dict(config or {}), secret_keys=list(secret_keys))
    evaluation = Evaluation(stack, monitor.registrations)
    exports: dict[str, pulumi.Output] = {}

    def record(name: str, value: Any) -> None:
        output = pulumi.Output.from_input(value)
        exports[name] = pulumi.Output.all(output, pulumi.Output.from_input(output.is_secret()))

    def keep(name: str, resolved: list) -> None:
        value, secret = resolved
        evaluation.outputs[name] = rpc.wrap_rpc_secret(value) if secret else value

    def require_version(version_range: str) -> None:
        evaluation.required_cli = version_range

    @pulumi.runtime.test
    def run():
        body()
        return pulumi.Output.all(*[output.apply(lambda resolved, name=name: keep(name, resolved))
                                   for name, output in exports.items()])

    digest = hashlib.sha256(FLUX_MANIFEST.read_bytes()).hexdigest()
    with _environment(env or {}), _patched(pulumi, "export", record), \
            _patched(pulumi.runtime, "require_pulumi_version", require_version), \
            _patched(pins, "flux_install", lambda: pins.Download(pins.pin("flux").source, digest)), \
            _patched(preflight_context, "server_labels", docker_sees or running_cluster(stack)):
        run()
    return evaluation


@contextmanager
def _patched(owner: Any, attribute: str, replacement: Any) -> Iterator[None]:
    original = getattr(owner, attribute)
    setattr(owner, attribute, replacement)
    try:
        yield
    finally:
        setattr(owner, attribute, original)
