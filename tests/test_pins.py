"""The pin record; and the tree, the stacks, the workflows, the Dockerfile and the requirements agreeing with it."""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from pin_audit import (
    chart_problems,
    dockerfile_problems,
    requirement_problems,
    stack_problems,
    tree_problems,
    workflow_problems,
)

from progressive_delivery import pins

ROOT = Path(__file__).resolve().parent.parent
AUDITS = (chart_problems, tree_problems, stack_problems, workflow_problems, dockerfile_problems, requirement_problems)


# --- the record -------------------------------------------------------------------------------------

def test_every_pin_has_evidence_and_a_version() -> None:
    names = [p.name for p in pins.all_pins()]
    assert len(names) == len(set(names)), "pin names repeat"
    for record in pins.all_pins():
        assert record.evidence and all(e.strip() for e in record.evidence), f"{record.name} has no evidence"
        assert record.version or record.minimum, f"{record.name} has neither a version nor a minimum"
        if record.name.startswith("action:"):
            assert re.fullmatch(r"v\d+", record.version) and re.fullmatch(r"[0-9a-f]{40}", record.digest)
        elif record.version and not record.name.startswith("image:"):
            pins.parse_version(record.version)
    for name in ("flux", "k3s", "k3d", "istio", "flagger", "image:python", "pulumi-cli", "kubectl"):
        pins.pin(name)
    for chart in ("base", "istiod", "gateway", "flagger", "loadtester", "grafana", "prometheus"):
        pins.chart(chart)


def test_the_record_holds_what_the_program_downloads() -> None:
    flux = pins.flux_install()
    assert flux.url == f"https://github.com/fluxcd/flux2/releases/download/{pins.pin('flux').version}/install.yaml"
    assert re.fullmatch(r"[0-9a-f]{64}", flux.sha256)
    assert pins.pin("flux").version.startswith("v2.9.")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", pins.pin("image:python").digest)
    assert pins.base_image() == f"python:{pins.pin('image:python').version}"
    k3s = pins.parse_version(pins.pin("k3s").version)
    assert (k3s.major, k3s.minor) in ((1, 35), (1, 36)), "k3s must carry a Kubernetes minor Istio 1.31 supports"
    assert pins.k3s_image() == f"rancher/k3s:{pins.pin('k3s').version}"
    for chart in ("base", "istiod", "gateway"):
        assert pins.chart(chart).version == pins.pin("istio").version, "Istio's charts carry Istio's version"
    assert pins.chart("flagger").version == pins.pin("flagger").version.lstrip("v")


def test_tools_pinned_are_ones_the_program_accepts() -> None:
    for name in ("k3d", "pulumi-cli"):
        record = pins.pin(name)
        assert pins.version_problem(name, record.version) is None, name
        assert pins.parse_version(record.minimum) <= pins.parse_version(record.version)
    assert pins.pulumi_version_range() == f">={pins.pin('pulumi-cli').minimum}"


@pytest.mark.parametrize(("name", "found", "refused"), [
    ("k3d", "v5.7.2", "older than the minimum v5.7.3"),
    ("k3d", "v5.6.0", "older than the minimum v5.7.3"),
    ("k3d", "v5.9.0-rc.0", "is refused"),
    ("k3d", "k3d-dev", "is not a version"),
    ("k3d", "v5.7.3", None),
    ("k3d", "5.9.0", None),
    ("pulumi-cli", "3.259.0", "older than the minimum 3.260.0"),
    ("pulumi-cli", "v3.260.0", None),
    ("kubectl", "v1.26.15", "older than the minimum 1.27.0"),
    ("kubectl", "v1.27.3-eks-a5565ad", None),
    ("flux", "v0.1.0", None),  # no minimum: nothing to refuse
])
def test_version_problem(name: str, found: str, refused: str | None) -> None:
    problem = pins.version_problem(name, found)
    if refused is None:
        assert problem is None
    else:
        assert problem is not None and refused in problem and "\n" not in problem and "install" in problem


def test_finding_a_version_in_tool_output() -> None:
    assert pins.find_version("k3d version v5.9.0\nk3s version v1.35.5-k3s1 (default)") == "v5.9.0"
    assert pins.find_version("nothing here") is None


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(KeyError) as raised:
        pins.pin("chart:nginx")
    assert "chart:flagger" in str(raised.value)


def test_charts_without_an_exact_offline_archive_say_what_differs() -> None:
    charts = Path(os.environ.get("PD_CHARTS_DIR") or ROOT.parent / "shared" / "charts")
    if not charts.is_dir():
        pytest.skip(f"no chart archives at {charts} (set PD_CHARTS_DIR): nothing to compare the pins with")
    for record in pins.all_pins():
        if record.name.startswith("chart:"):
            archive = charts / f"{record.name.removeprefix('chart:')}-{record.version}.tgz"
            assert archive.is_file() or record.note, f"{record.name} {record.version}: no {archive.name}, no note"


# --- this checkout ----------------------------------------------------------------------------------

@pytest.mark.parametrize("audit", AUDITS, ids=lambda a: a.__name__)
def test_this_checkout_agrees_with_the_record(audit: Callable[[Path], list[str]]) -> None:
    problems = audit(ROOT)
    assert not problems, "\n".join(problems)


# --- the audits themselves, on a small example checkout ---------------------------------------------

AGREEING = {
    "flagger": "1.44.0", "flagger_source": "https://flagger.app", "istiod": "1.31.1",
    "istio_source": "oci://ghcr.io/istio/release/charts", "prometheus": "29.27.0",
    "prometheus_source": "oci://ghcr.io/prometheus-community/charts/prometheus", "patched": "1.44.0",
    "partial": "1.31.1", "dashboard": "https://raw.githubusercontent.com/fluxcd/flagger/v1.44.0/charts/grafana/d.json",
    "extra_values": "{}", "flux": "v2.9.5", "k3s": "rancher/k3s:v1.36.4-k3s1", "required": ">=3.260.0",
    "checkout": "actions/checkout@v7", "python_action": "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97",
    "cli": "3.272.0", "k3d_env": "v5.9.0", "k3d_url": "v5.9.0", "base": "python:3.11.16-slim-bookworm",
    "label": "docker.io/library/python:3.11.16-slim-bookworm", "requirement": "pulumi==3.272.0",
}
FILES = {
    "platform/sources.yaml": """
        apiVersion: source.toolkit.fluxcd.io/v1
        kind: HelmRepository
        metadata: {{name: flagger}}
        spec: {{url: "{flagger_source}"}}
        ---
        apiVersion: source.toolkit.fluxcd.io/v1
        kind: HelmRepository
        metadata: {{name: istio}}
        spec: {{type: oci, url: "{istio_source}"}}
        ---
        apiVersion: source.toolkit.fluxcd.io/v1
        kind: OCIRepository
        metadata: {{name: prometheus}}
        spec: {{url: "{prometheus_source}", ref: {{tag: "{prometheus}"}}}}""",
    "platform/releases.yaml": """
        apiVersion: helm.toolkit.fluxcd.io/v2
        kind: HelmRelease
        metadata: {{name: flagger}}
        spec:
          chart: {{spec: {{chart: flagger, version: "{flagger}", sourceRef: {{kind: HelmRepository, name: flagger}}}}}}
        ---
        apiVersion: helm.toolkit.fluxcd.io/v2
        kind: HelmRelease
        metadata: {{name: istiod}}
        spec:
          chart: {{spec: {{chart: istiod, version: "{istiod}", sourceRef: {{kind: HelmRepository, name: istio}}}}}}
        ---
        apiVersion: helm.toolkit.fluxcd.io/v2
        kind: HelmRelease
        metadata: {{name: prometheus}}
        spec:
          chartRef: {{kind: OCIRepository, name: prometheus}}
          values:
            dashboards: {{flagger: {{url: "{dashboard}"}}}}
            extra: {extra_values}""",
    "platform/staging/kustomization.yaml": """
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        resources: [../releases.yaml, istiod.yaml]
        images: [{{name: echo-version, newTag: 0.1.0}}]
        patches:
          - target: {{kind: HelmRelease, name: flagger}}
            patch: |
              - {{op: replace, path: /spec/chart/spec/version, value: "{patched}"}}""",
    "platform/staging/istiod.yaml": """
        apiVersion: helm.toolkit.fluxcd.io/v2
        kind: HelmRelease
        metadata: {{name: istiod}}
        spec: {{chart: {{spec: {{version: "{partial}"}}}}}}""",
    "Pulumi.staging.yaml": """
        config:
          progressive-delivery:fluxVersion: {flux}
          progressive-delivery:k3sImage: {k3s}
          progressive-delivery:appVersion: 0.1.0""",
    "Pulumi.yaml": """
        name: progressive-delivery
        requiredPulumiVersion: "{required}\"""",
    ".github/workflows/e2e.yaml": """
        on: workflow_dispatch
        env: {{K3D_VERSION: {k3d_env}, PYTHON_VERSION: "3.12"}}
        jobs:
          e2e:
            runs-on: ubuntu-latest
            steps:
              - uses: {checkout}
              - uses: {python_action}
              - uses: ./.github/actions/local
              - uses: pulumi/actions@v7
                with: {{pulumi-version: "{cli}"}}
              - run: |
                  curl -fsSLo k3d https://github.com/k3d-io/k3d/releases/download/{k3d_url}/k3d-linux-amd64
                  k3d cluster create e2e --image {k3s}""",
    "applications/echo-version/Dockerfile": """
        ARG BASE={base}
        FROM ${{BASE}} AS app
        LABEL org.opencontainers.image.base.name="{label}\"""",
    "requirements.txt": """
        # runtime
        -r applications/echo-version/requirements.txt
        {requirement}""",
    "applications/echo-version/requirements.txt": "prometheus-client==0.23.1",
}


def _example(root: Path, **changes: str) -> Path:
    values = AGREEING | changes
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).strip().format(**values) + "\n")
    return root


def test_an_example_at_the_recorded_versions_passes_every_audit(tmp_path: Path) -> None:
    root = _example(tmp_path)
    assert [p for audit in AUDITS for p in audit(root)] == []


@pytest.mark.parametrize(("change", "value", "reported"), [
    ("flagger", "1.45.0", "chart flagger at '1.45.0'; the record pins 1.44.0"),
    ("flagger", "1.x", "chart flagger at '1.x'"),
    ("flagger_source", "https://charts.example.com", "comes from https://charts.example.com"),
    ("istio_source", "oci://gcr.io/istio-release/charts", "comes from oci://gcr.io/istio-release/charts"),
    ("istiod", "1.30.4", "chart istiod at '1.30.4'"),
    ("prometheus", "29.35.0", "OCIRepository prometheus: chart prometheus at '29.35.0'"),
    ("prometheus_source", "oci://ghcr.io/example/charts/prometheus", "comes from oci://ghcr.io/example"),
    ("patched", "1.43.0", "flagger: chart flagger at '1.43.0'"),
    ("partial", "1.31.0", "HelmRelease istiod: chart istiod at '1.31.0'"),
    ("dashboard", "https://raw.githubusercontent.com/fluxcd/flagger/v1.45.0/x.json", "is at v1.45.0"),
    ("dashboard", "https://github.com/example/tool/releases/download/v2.0.0/x.json", "example/tool v2.0.0"),
    ("extra_values", "{gnetId: 7639, revision: 330}", "dashboard 7639 rev 330 is not in"),
    ("extra_values", "{repository: nginx, tag: 1.27.0}", "image nginx:1.27.0 is not in"),
    ("flux", "v2.7.5", "fluxVersion is 'v2.7.5'; the record pins v2.9.5"),
    ("k3s", "rancher/k3s:v1.33.5-k3s1", "rancher/k3s:v1.33.5-k3s1"),
    ("required", ">=3.200.0", "requiredPulumiVersion is '>=3.200.0'"),
    ("checkout", "actions/checkout@v6", "actions/checkout@v6; the record pins actions/checkout@v7"),
    ("checkout", "example/action@v1", "example/action@v1 is not in"),
    ("python_action", "actions/setup-python@0123456789abcdef0123456789abcdef01234567", "actions/setup-python@v7"),
    ("cli", "3.259.0", "installs Pulumi CLI '3.259.0'"),
    ("k3d_env", "v5.8.3", "K3D_VERSION=v5.8.3; the record pins k3d v5.9.0"),
    ("k3d_url", "v5.9.0-rc.0", "is at v5.9.0-rc.0; the record pins k3d v5.9.0"),
    ("base", "python:3.11.14-slim-bookworm", "FROM python:3.11.14-slim-bookworm"),
    ("base", "python:3.11.16-slim-bookworm@sha256:" + "0" * 64, "the record pins python:3.11.16-slim-bookworm (@sha256"),
    ("label", "docker.io/library/python:3.12-slim", "names python:3.12-slim"),
    ("requirement", "pulumi>=3.200", "'pulumi>=3.200' is not an exact pin"),
])
def test_the_audits_report_a_disagreement(tmp_path: Path, change: str, value: str, reported: str) -> None:
    problems = [p for audit in AUDITS for p in audit(_example(tmp_path, **{change: value}))]
    assert any(reported in p for p in problems), "\n".join(problems) or "nothing reported"


def test_a_digest_pinned_base_image_matching_the_record_passes(tmp_path: Path) -> None:
    digest = pins.pin("image:python").digest
    assert dockerfile_problems(_example(tmp_path, base=f"{pins.base_image()}@{digest}")) == []
