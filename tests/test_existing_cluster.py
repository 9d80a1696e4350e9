"""A stack on an existing cluster: the graph under mocks, its destroy order, the teardown and preflight
scripts against a stand-in `kubectl`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pulumi
import pytest
from program_harness import COMMAND, Evaluation, Registration, evaluate, is_secret, unwrap

from progressive_delivery import existing_cluster, flux_teardown, gateway_address
from progressive_delivery.config import K3D_ONLY, build_settings, read_stack_file
from progressive_delivery.preflight_context import Context
from progressive_delivery.process import run_process
from progressive_delivery.shell import KUBECONFIG_VARIABLE

KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters:\n- name: real\n  cluster:\n    server: https://10.0.0.1\n"


def existing_overrides(kubeconfig: Path) -> dict[str, str | None]:
    return {**{key: None for key in K3D_ONLY}, "clusterProvider": "existing", "kubeconfigPath": str(kubeconfig),
            "kubeContext": "platform", "imageRepository": "ghcr.io/acme/echo-version",
            "imageRegistryUsername": "acme", "grafanaHost": "grafana.example.com"}


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Evaluation:
    kubeconfig = tmp_path_factory.mktemp("cluster") / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    return evaluate("staging", overrides=existing_overrides(kubeconfig),
                    secrets={"progressive-delivery:imageRegistryPassword": "ghcr-secret"})


def depends_on(program: Evaluation, dependent: Registration, dependency: Registration) -> bool:
    """True when `dependent` waits for `dependency` directly or through its component parents."""
    chain = [dependent]
    while chain[-1].parent and any(r.urn == chain[-1].parent for r in program.registrations):
        chain.append(program.by_urn(chain[-1].parent))
    targets = {dependency.urn}
    parent = dependency.parent
    while parent and any(r.urn == parent for r in program.registrations):
        targets.add(parent)
        parent = program.by_urn(parent).parent
    return any(targets & set(link.dependencies) for link in chain)


def test_no_k3d_and_no_local_registry(program):
    commands = {r.name for r in program.of_type(COMMAND)}
    assert "cluster" not in commands
    assert all("k3d" not in (r.plain("create") or "") + (r.plain("delete") or "") for r in program.of_type(COMMAND))


def test_every_kubernetes_object_uses_the_given_kubeconfig_as_a_secret(program):
    provider = program.one("pulumi:providers:kubernetes")
    assert is_secret(provider.inputs["kubeconfig"]) and unwrap(provider.inputs["kubeconfig"]) == KUBECONFIG
    assert provider.plain("context") == "platform"
    assert provider.plain("clusterIdentifier") == "existing:pd-staging"
    for registration in program.registrations:
        if registration.type.startswith("kubernetes:"):
            assert registration.provider.startswith(provider.urn + "::"), registration.name
    assert all(KUBECONFIG not in json.dumps(unwrap(r.inputs)) or is_secret(r.inputs.get("kubeconfig"))
               or is_secret(r.inputs.get("environment")) for r in program.registrations)


def test_nothing_is_deleted_with_a_cluster(program):
    assert all(not r.deleted_with for r in program.registrations)


def test_destroy_lets_flux_prune_then_removes_flux_then_the_program_namespaces(program):
    teardown = program.one(COMMAND, "flux-teardown")
    kustomization = program.kubernetes_object("Kustomization", "flux-system")
    repository = program.kubernetes_object("GitRepository", "flux-system")
    settings = program.kubernetes_object("ConfigMap", "cluster-settings")
    install = program.one("kubernetes:yaml/v2:ConfigGroup", "flux")
    namespace = program.kubernetes_object("Namespace", "applications")
    # Pulumi deletes a resource before what it depends on: the Kustomization first (Flux prunes
    # through its finalizer), then the teardown's wait, then values, Flux and the namespace.
    assert depends_on(program, kustomization, teardown), "also after a first run that never became Ready"
    for later in (settings, install):
        assert depends_on(program, teardown, later), later.name
    assert depends_on(program, kustomization, repository)
    assert depends_on(program, settings, install) and depends_on(program, repository, install)
    assert depends_on(program, install, namespace)
    assert not depends_on(program, namespace, install)


def test_the_teardown_carries_the_kubeconfig_only_as_a_secret(program):
    teardown = program.one(COMMAND, "flux-teardown")
    assert is_secret(teardown.inputs["environment"])
    environment = unwrap(teardown.inputs["environment"])
    assert environment[KUBECONFIG_VARIABLE] == KUBECONFIG
    assert KUBECONFIG not in teardown.plain("delete")


def test_the_app_url_comes_from_the_cluster_without_a_public_host(program):
    address = program.one(COMMAND, "gateway-address")
    sync = program.kubernetes_object("Kustomization", "flux-system")
    assert depends_on(program, address, sync)
    assert address.plain("create") == gateway_address.READ_ADDRESS


def test_the_gateway_values_follow_the_settings(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    program = evaluate("staging", overrides={**existing_overrides(kubeconfig), "gatewayServiceType": "NodePort",
                                             "publicHost": "apps.example.com"},
                       secrets={"progressive-delivery:imageRegistryPassword": "ghcr-secret"})
    values = program.kubernetes_object("ConfigMap", "istio-gateway-values").plain("data")["values.yaml"]
    assert "type: NodePort" in values
    assert program.outputs["appUrl"] == "http://apps.example.com/echo/version"
    assert not any(r.name == "gateway-address" for r in program.of_type(COMMAND))


def test_k3d_settings_and_a_missing_registry_are_refused(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    overrides = {**existing_overrides(kubeconfig), "imageRepository": None, "imageRegistryUsername": None,
                 "agents": None, "clusterAgents": "3"}
    with pytest.raises(pulumi.RunError) as error:
        evaluate("staging", overrides=overrides)
    message = str(error.value)
    assert "progressive-delivery:clusterAgents: applies only to clusterProvider k3d" in message
    assert "progressive-delivery:imageRepository: an existing cluster has no local registry" in message


# --------------------------------------------------------------------------- the scripts, with a stand-in kubectl

FAKE_KUBECONTROL = r"""#!/bin/bash
# Stand-in kubectl: records each call (without the kubeconfig path) and answers from files.
state="$FAKE_STATE"
args=()
skip=""
for arg in "$@"; do
  if [ -n "$skip" ]; then skip=""; continue; fi
  case "$arg" in --kubeconfig) skip=1 ;; --request-timeout=*) ;; *) args+=("$arg") ;; esac
done
echo "${args[*]}" >> "$state/calls"
[ -e "$state/kubeconfig-seen" ] || cat "${@:2:1}" > "$state/kubeconfig-seen" 2>/dev/null
if [ -e "$state/unreachable" ]; then echo "Unable to connect to the server: dial tcp 10.0.0.1:443" >&2; exit 1; fi
case "${args[*]}" in
  *"get crd kustomizations.kustomize.toolkit.fluxcd.io"*)
    [ -e "$state/flux" ] && { echo customresourcedefinition/kustomizations; exit 0; }
    echo 'Error from server (NotFound): customresourcedefinitions "kustomizations" not found' >&2; exit 1 ;;
  *"get imageupdateautomations"*) echo "flux-system echo-version" ;;
  *"get crd -o jsonpath={range"*)
    printf '%s\n' kustomizations.kustomize.toolkit.fluxcd.io helmreleases.helm.toolkit.fluxcd.io \
      canaries.flagger.app gateways.networking.istio.io ;;
  *"get kustomizations.kustomize.toolkit.fluxcd.io --all-namespaces -l"*)
    [ -e "$state/stuck" ] && echo kustomization.kustomize.toolkit.fluxcd.io/apps ;;
  *"version -o json"*) cat "$state/version" ;;
  *"get service istio-ingressgateway -o jsonpath="*"hostname}"*) cat "$state/hostname" 2>/dev/null || true ;;
  *"get service istio-ingressgateway -o jsonpath="*"ip}"*) cat "$state/ip" 2>/dev/null || true ;;
  *"auth can-i"*) cat "$state/can-i" 2>/dev/null || echo yes ;;
  *"get namespace flux-system -o jsonpath"*) [ -e "$state/mine" ] && cat "$state/mine" || exit 1 ;;
  *"get namespaces -o jsonpath"*) echo "default kube-system $(cat "$state/namespaces" 2>/dev/null)" ;;
  *"get crd -o jsonpath={.items[*].metadata.name}"*) cat "$state/crds" 2>/dev/null ;;
esac
exit 0
"""


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch):
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    path = bin_dir / "kubectl"
    path.write_text(FAKE_KUBECONTROL)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_STATE", str(state))
    return state


def teardown(state: Path, minutes: str = "1") -> subprocess.CompletedProcess:
    environment = {**os.environ, KUBECONFIG_VARIABLE: KUBECONFIG, "FLUX_NAMESPACE": "flux-system",
                   "FLUX_SYNC_NAME": "flux-system", "CHART_CRD_GROUPS": "flagger.app", "TEARDOWN_MINUTES": minutes,
                   "KUBE_CONTEXT": "platform", "APPLIED_BY_LABEL": flux_teardown.APPLIED_BY_LABEL}
    return subprocess.run(["/bin/bash", "-c", flux_teardown.TEARDOWN], env=environment, capture_output=True,
                          text=True, timeout=30)


def calls(state: Path) -> list[str]:
    return (state / "calls").read_text().splitlines()


def test_teardown_stops_flux_lets_it_prune_and_waits_in_order(kubectl):
    (kubectl / "flux").touch()
    result = teardown(kubectl)
    assert result.returncode == 0, result.stderr
    steps = calls(kubectl)
    label = flux_teardown.APPLIED_BY_LABEL
    expected = [
        "--context platform get crd kustomizations.kustomize.toolkit.fluxcd.io -o name",
        "--context platform -n flux-system patch gitrepository flux-system --type merge -p "
        '{"spec":{"suspend":true}}',
        "--context platform get imageupdateautomations -A -o jsonpath="
        '{range .items[*]}{.metadata.namespace} {.metadata.name}{"\\n"}{end}',
        "--context platform -n flux-system patch imageupdateautomation echo-version --type merge -p "
        '{"spec":{"suspend":true}}',
        "--context platform -n flux-system delete kustomization flux-system --ignore-not-found --wait=true "
        "--timeout=1m",
        "--context platform get crd -o jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}",
        f"--context platform get kustomizations.kustomize.toolkit.fluxcd.io --all-namespaces -l {label} -o name",
        f"--context platform get helmreleases.helm.toolkit.fluxcd.io --all-namespaces -l {label} -o name",
        f"--context platform get canaries.flagger.app --all-namespaces -l {label} -o name",
        "--context platform get helmcharts.source.toolkit.fluxcd.io --all-namespaces -o name",
        "--context platform delete crd canaries.flagger.app --ignore-not-found --wait=true --timeout=1m",
    ]
    assert steps == expected
    assert not any("gateways.networking.istio.io" in step for step in steps), "only the charts' crds/ CRDs go"


def test_teardown_twice_is_harmless_and_an_unreachable_cluster_fails(kubectl):
    result = teardown(kubectl)
    assert result.returncode == 0 and "nothing to tear down" in result.stderr
    assert len(calls(kubectl)) == 1
    (kubectl / "unreachable").touch()
    failed = teardown(kubectl)
    assert failed.returncode != 0 and "cannot reach the cluster" in failed.stderr


def test_teardown_names_what_flux_could_not_remove(kubectl):
    (kubectl / "flux").touch()
    (kubectl / "stuck").touch()
    result = teardown(kubectl, minutes="0")
    assert result.returncode != 0
    assert "still there after 0 minutes: kustomization.kustomize.toolkit.fluxcd.io/apps" in result.stderr
    assert not any(call.startswith("--context platform delete crd") for call in calls(kubectl))


def existing_settings(tmp_path: Path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    raw = {key: value for key, value in read_stack_file("staging").items() if key not in K3D_ONLY}
    raw.update({key: value for key, value in existing_overrides(kubeconfig).items() if value is not None})
    return build_settings("staging", {**raw, "repositoryOwner": "acme"}, {})


def cluster_problems(tmp_path: Path) -> list[str]:
    context = Context(existing_settings(tmp_path), "token", preview=False, runner=run_process,
                      kubeconfig=KUBECONFIG)
    return existing_cluster.preflight_problems(context)


def test_preflight_of_a_ready_cluster(kubectl, tmp_path):
    (kubectl / "version").write_text('{"serverVersion": {"major": "1", "minor": "35"}}')
    assert cluster_problems(tmp_path) == []
    assert (kubectl / "kubeconfig-seen").exists()


def test_preflight_reports_version_permissions_and_someone_elses_flux(kubectl, tmp_path):
    (kubectl / "version").write_text('{"serverVersion": {"major": "1", "minor": "30+"}}')
    (kubectl / "can-i").write_text("no\n")
    (kubectl / "flux").touch()
    found = cluster_problems(tmp_path)
    assert len(found) == 3
    assert found[0].startswith("the cluster runs Kubernetes 1.30; Flux v2.9.5 and Istio 1.31.1 support 1.32 to 1.36")
    assert found[1].startswith("these credentials cannot create namespaces, create customresourcedefinitions")
    assert found[2].startswith("Flux is already installed on this cluster")
    (kubectl / "mine").write_text("staging")
    assert not any("Flux is already installed" in p for p in cluster_problems(tmp_path))


def test_preflight_refuses_namespaces_and_crds_the_platform_would_take_over(kubectl, tmp_path):
    (kubectl / "version").write_text('{"serverVersion": {"major": "1", "minor": "35"}}')
    (kubectl / "namespaces").write_text("monitoring istio-system")
    (kubectl / "crds").write_text("gateways.networking.istio.io canaries.flagger.app certificates.cert-manager.io")
    found = cluster_problems(tmp_path)
    assert found == [
        "namespaces istio-system, monitoring already exist and this stack did not create them: Flux would take "
        "them over and a destroy would delete them; use a cluster without them",
        "Istio or Flagger is already installed on this cluster (CRDs gateways.networking.istio.io, "
        "canaries.flagger.app); the platform installs its own: use a cluster without them"]
    (kubectl / "mine").write_text("staging")
    assert cluster_problems(tmp_path) == [], "what this stack's own Flux installed is its own"


def test_preflight_without_kubectl_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    found = cluster_problems(tmp_path)
    assert found == ["kubectl is not installed or not on PATH; install kubectl (the preflight of an existing "
                     "cluster runs kubectl)"]


def test_preflight_of_an_unreachable_cluster_is_one_line(kubectl, tmp_path):
    (kubectl / "unreachable").touch()
    found = cluster_problems(tmp_path)
    assert len(found) == 1 and found[0].startswith("the cluster in the given kubeconfig does not answer")


def gateway(state: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, KUBECONFIG_VARIABLE: KUBECONFIG, "GATEWAY_NAMESPACE": "istio-ingress",
                   "GATEWAY_SERVICE": "istio-ingressgateway", "WAIT_SECONDS": "0", "KUBE_CONTEXT": "platform"}
    return subprocess.run(["/bin/bash", "-c", gateway_address.READ_ADDRESS], env=environment, capture_output=True,
                          text=True, timeout=30)


@pytest.mark.parametrize("hostname, ip, printed", [
    ("lb.example.com", "203.0.113.7", "lb.example.com"),
    ("", "203.0.113.7", "203.0.113.7"),
    ("", "2001:db8::7", "[2001:db8::7]"),
])
def test_the_gateway_address_is_the_load_balancers(kubectl, hostname, ip, printed):
    (kubectl / "hostname").write_text(hostname)
    (kubectl / "ip").write_text(ip)
    result = gateway(kubectl)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{printed}\n"


def test_no_load_balancer_address_says_what_to_set(kubectl):
    result = gateway(kubectl)
    assert result.returncode != 0 and result.stdout == ""
    assert "has no load balancer address after 0 seconds" in result.stderr
    assert "progressive-delivery:publicHost" in result.stderr
    (kubectl / "unreachable").touch()
    failed = gateway(kubectl)
    assert "cannot read Service istio-ingress/istio-ingressgateway: Unable to connect" in failed.stderr
