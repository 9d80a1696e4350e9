"""Small Flux trees around the demo chart (Helm's scaffold, fixture `demo_chart`), and an index for it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from conftest import write_tree


def demo_tree(root: Path, url: str, version: str, values: str = "") -> Path:
    release_yaml = (
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: demo\n"
        f"  namespace: flux-system\nspec:\n  interval: 1h\n  url: {url}\n---\n"
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: demo\n  namespace: flux-system\n"
        "spec:\n  interval: 1h\n  targetNamespace: web\n  chart:\n    spec:\n      chart: demo\n"
        f"      version: \"{version}\"\n      sourceRef:\n        kind: HelmRepository\n        name: demo\n"
        f"  values:\n    service:\n      port: 8080\n{values}---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n")
    return write_tree(root, {"clusters/demo/release.yaml": release_yaml})


def oci_tree(root: Path, url: str, version: str, source: str = "HelmRepository") -> Path:
    """demo_tree with the chart from an OCI registry: a HelmRepository of type oci (chart.spec.version
    `version`), or an OCIRepository of the chart itself (`version` its ref, a tag or `semver:<range>`)."""
    tree = demo_tree(root, url, version).joinpath("clusters/demo/release.yaml")
    if source == "HelmRepository":
        tree.write_text(tree.read_text().replace("  interval: 1h\n  url:", "  interval: 1h\n  type: oci\n"
                                                 "  insecure: true\n  url:", 1))
        return root
    kind, _, value = version.rpartition(":")
    text = tree.read_text().replace("kind: HelmRepository\nmetadata:\n  name: demo", "kind: OCIRepository\n"
                                    "metadata:\n  name: demo", 1)
    text = text.replace(f"  url: {url}\n", f"  url: {url}/demo\n  insecure: true\n  ref:\n    {kind or 'tag'}: "
                                            f"\"{value}\"\n")
    text = text.replace(f"  chart:\n    spec:\n      chart: demo\n      version: \"{version}\"\n      sourceRef:\n"
                        "        kind: HelmRepository\n        name: demo\n",
                        "  chartRef:\n    kind: OCIRepository\n    name: demo\n")
    tree.write_text(text)
    return root


def index(folder: Path, base: str) -> None:
    entries = [{"name": "demo", "version": p.name[len("demo-"):-len(".tgz")], "urls": [f"{base}/{p.name}"],
                "digest": hashlib.sha256(p.read_bytes()).hexdigest()} for p in sorted(folder.glob("demo-*.tgz"))]
    (folder / "index.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "entries": {"demo": entries}}))
