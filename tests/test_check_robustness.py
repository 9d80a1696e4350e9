"""Malformed but parseable objects give findings or exit 2, never a traceback."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pytest
from conftest import CheckTree

from progressive_delivery.check import check_platform, cli
from progressive_delivery.check.guard import guarded
from progressive_delivery.check.model import Findings, KubeObject

STACK = "staging"


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["check", *argv]).handler(parser.parse_args(["check", *argv]))


def flux_kustomization(doc: dict) -> bool:
    return str(doc.get("apiVersion", "")).startswith("kustomize.toolkit.fluxcd.io/") and bool(
        (doc.get("spec") or {}).get("postBuild"))


def set_path(*path_and_value) -> Callable[[dict], None]:
    """An edit that sets doc[path...] = value, creating mappings on the way."""
    *path, value = path_and_value

    def change(doc: dict) -> None:
        node = doc
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return change


def chart(name: str):
    return lambda doc: ((doc.get("spec") or {}).get("chart") or {}).get("spec", {}).get("chart") == name


# (kind, edit, which document, fragment a finding must hold: "" when any finding will do)
CASES = {
    "postBuild.substituteFrom is a string": (
        "Kustomization", set_path("spec", "postBuild", "substituteFrom", "cluster-settings"), flux_kustomization,
        "postBuild"),
    "postBuild is a list": ("Kustomization", set_path("spec", "postBuild", ["a"]), flux_kustomization, "postBuild"),
    "Canary analysis is a list": ("Canary", set_path("spec", "analysis", [1]), None, "spec.analysis"),
    "Canary webhook URL is not a URL": (
        "Canary", set_path("spec", "analysis", "webhooks", [{"name": "a", "type": "rollout", "url": "http://[::1"}]),
        None, "http://[::1"),
    "Canary analysis iterations is a string": ("Canary", set_path("spec", "analysis", "iterations", "abc"), None, ""),
    "HelmRelease chart.spec is a string": ("HelmRelease", set_path("spec", "chart", "spec", "grafana"), None,
                                           "chart"),
    "HelmRelease chart.spec fields of the wrong type": (
        "HelmRelease", set_path("spec", "chart", "spec", {"chart": 3, "sourceRef": "x"}), None, "chart"),
    "HelmRelease dependsOn is a string": ("HelmRelease", set_path("spec", "dependsOn", "istio-base"), None,
                                          "dependsOn"),
    "Flagger values is a list": ("HelmRelease", set_path("spec", "values", [1]), chart("flagger"), "values"),
    "Flagger metricsServer is a mapping": ("HelmRelease", set_path("spec", "values", "metricsServer", {"a": 1}),
                                           chart("flagger"), "metricsServer"),
    "ImageUpdateAutomation update is a string": ("ImageUpdateAutomation", set_path("spec", "update", "Setters"),
                                                 None, "update"),
    "ImagePolicy filterTags.pattern is not a regular expression": (
        "ImagePolicy", set_path("spec", "filterTags", "pattern", "(unclosed"), None, "filterTags.pattern"),
    "Gateway selector is a list": ("Gateway", set_path("spec", "selector", ["istio"]), None, "selector"),
    "VirtualService http is a mapping": ("VirtualService", set_path("spec", "http", {"route": []}), None, "http"),
    "Deployment env is a string": (
        "Deployment", lambda d: d["spec"]["template"]["spec"]["containers"][0].__setitem__("env", "A=1"), None,
        "env"),
    "Deployment containers is a mapping": (
        "Deployment", set_path("spec", "template", "spec", "containers", {"name": "x"}), None, "containers"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_object_is_a_finding_not_a_traceback(case: str, check_tree: CheckTree, capsys):
    kind, change, where, fragment = CASES[case]
    under = {"Kustomization": f"clusters/{STACK}", "ImagePolicy": f"apps/{STACK}"}.get(kind, "")
    check_tree.edit(kind, change, where or (lambda doc: True), under=under)
    code = run_cli("--platform", str(check_tree.root), "--stack", STACK, "--budget")
    output = capsys.readouterr()
    text = output.out + output.err
    assert code in (1, 2), text
    assert "Traceback" not in text
    assert fragment in text, text


def test_malformed_post_build_without_crds_is_reported_once(check_tree: CheckTree, tmp_path, monkeypatch):
    """Without CRDs the checker reports the shape itself, and checks the objects as if substituted."""
    monkeypatch.setenv("PD_CRDS_DIR", str(tmp_path / "no-crds"))
    rel, doc = check_tree.edit("Kustomization", set_path("spec", "postBuild", "substituteFrom", "cluster-settings"),
                               flux_kustomization, under=f"clusters/{STACK}")
    found = check_platform(check_tree.root, [STACK]).findings
    assert [f.path for f in found] == [rel], "\n".join(f.line() for f in found)
    assert "substituteFrom must be a list of {kind, name}" in found[0].message


def test_object_that_fails_its_schema_is_not_checked_again(check_tree: CheckTree, check_crds):
    """A Canary whose schema finding names the problem gets no follow-on cross-object findings."""
    rel, _ = check_tree.edit("Canary", set_path("spec", "targetRef", "name", 42))
    found = [f for f in check_platform(check_tree.root, [STACK], check_crds).findings if f.kind == "Canary"]
    assert found and all(f.message.startswith("invalid ") for f in found), "\n".join(f.line() for f in found)


# --- the guard ------------------------------------------------------------------------------------

def test_guard_turns_a_shape_error_into_a_finding_naming_object_and_check():
    canary = KubeObject({"apiVersion": "flagger.app/v1beta1", "kind": "Canary",
                         "metadata": {"name": "app", "namespace": "apps"}, "spec": {"analysis": [1]}},
                        "apps/canary.yaml", "flux-system/apps")

    def check() -> None:
        for obj in [canary]:
            obj.spec["analysis"].get("webhooks")

    out = Findings(STACK)
    assert guarded(out, "Canaries", check) is None
    [finding] = out.items
    assert (finding.path, finding.kind, finding.name) == ("apps/canary.yaml", "Canary", "app")
    assert finding.message.startswith("could not check Canaries: AttributeError")
    assert "fix the object's structure" in finding.message


def test_guard_without_an_object_names_the_check():
    out = Findings(STACK)
    guarded(out, "budget_lines", lambda: int("x"))
    assert out.items[0].kind == "check" and "could not check budget_lines: ValueError" in out.items[0].message


def test_guard_returns_the_value_and_lets_other_errors_through():
    out = Findings(STACK)
    assert guarded(out, "x", lambda: 3) == 3 and out.items == []

    def broken() -> None:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        guarded(out, "x", broken)


def test_every_check_runs_guarded(check_tree: CheckTree, monkeypatch):
    """A check that trips over a shape does not stop the run or the other checks."""
    from progressive_delivery.check import checks_mesh

    def tripping(view, out):
        for gateway in view.of_kind("Gateway"):
            gateway.spec["selector"].items()[0]

    monkeypatch.setattr(checks_mesh, "check_gateways", tripping)
    check_tree.edit("Deployment", lambda d: d["spec"]["template"]["spec"].__setitem__(
        "imagePullSecrets", [{"name": "k8s-ghcr"}]))
    found = check_platform(check_tree.root, [STACK]).findings
    messages = [f.line() for f in found]
    assert any(f.kind == "Gateway" and "could not check Istio Gateways: TypeError" in f.message for f in found), \
        messages
    assert any("imagePullSecrets names Secret" in m for m in messages), messages


@pytest.mark.parametrize("url, fragment", [
    ("http://[::1", "is not a valid URL"),
    ("ftp://flagger-loadtester.test/", "is not an http(s) URL"),
    ("http://flagger-loadtester.test:99999/", "has an invalid port"),
])
def test_webhook_url_that_does_not_parse_is_a_finding(url: str, fragment: str):
    from progressive_delivery.check.network import Services

    problem = Services().check_url(url, "webhook 'a' url")
    assert problem is not None and fragment in problem and url in problem


def test_accessors_read_wrong_shapes_as_absent():
    from progressive_delivery.check.access import mapping, mappings, sequence, text, value

    body = {"spec": {"analysis": [1], "postBuild": {"substituteFrom": "cluster-settings"}, "port": 8080,
                     "hooks": [{"url": "x"}, "y", None], "empty": "", "nested": {"name": {"a": 1}}}}
    assert mapping(body, "spec", "analysis") == {} and sequence(body, "spec", "postBuild", "substituteFrom") == []
    assert mapping(body, "spec", "analysis", "webhooks") == {} and value(body, "spec", "x", "y") is None
    assert mappings(body, "spec", "hooks") == [{"url": "x"}]
    assert text(body, "spec", "port") == "8080" and text(body, "spec", "empty", default="-") == "-"
    assert text(body, "spec", "nested", "name") == "" and text("not a mapping", "spec") == ""
