"""Objects a cluster holds before Flux applies the tree.

In a stack, the Pulumi program creates the Flux sync objects, the `cluster-settings` ConfigMap and a
few Secrets (names in progressive_delivery/contract.py); for any other Flux tree, `flux bootstrap`
creates the sync objects. Kubernetes brings its system namespaces. Secrets get placeholder values of
the right shape, so that HelmReleases reading them through valuesFrom render.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from ...contract import (
    APP_NAMESPACE,
    APP_NAMESPACE_LABELS,
    FLUX_NAMESPACE,
    FLUX_SYNC_NAME,
    GATEWAY_VALUES_CONFIGMAP,
    GATEWAY_VALUES_KEY,
    GRAFANA_PASSWORD_KEY,
    GRAFANA_SECRET,
    GRAFANA_USER_KEY,
    PULL_SECRET,
    SCAN_SECRET,
    SETTINGS_CONFIGMAP,
)
from ..model import CLUSTER, PROGRAM, KubeObject

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
PROGRAM_FILE = "(created by the Pulumi program)"
BOOTSTRAP_FILE = "(created by flux bootstrap)"
CLUSTER_FILE = "(part of every cluster)"
_DOCKER_CONFIG = base64.b64encode(json.dumps({"auths": {}}).encode()).decode()


def _object(api_version: str, kind: str, name: str, namespace: str = "", labels: dict[str, str] | None = None,
            **fields: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def sync_objects(cluster_path: str, git_interval: str, branch: str) -> list[dict[str, Any]]:
    """The GitRepository and Kustomization that sync the tree, and the deploy-key Secret."""
    ref = {"branch": branch} if branch else {}
    return [
        _object("v1", "Namespace", FLUX_NAMESPACE),
        _object("source.toolkit.fluxcd.io/v1", "GitRepository", FLUX_SYNC_NAME, FLUX_NAMESPACE,
                spec={"interval": git_interval, "ref": ref, "url": "ssh://git@github.com/owner/repository.git",
                      "secretRef": {"name": FLUX_SYNC_NAME}}),
        _object("kustomize.toolkit.fluxcd.io/v1", "Kustomization", FLUX_SYNC_NAME, FLUX_NAMESPACE,
                spec={"interval": "10m", "path": f"./{cluster_path}", "prune": True,
                      "sourceRef": {"kind": "GitRepository", "name": FLUX_SYNC_NAME}}),
        _object("v1", "Secret", FLUX_SYNC_NAME, FLUX_NAMESPACE, stringData={"identity": "", "known_hosts": ""}),
    ]


def program_objects(settings_data: dict[str, str], gateway_values: str) -> list[dict[str, Any]]:
    """What the Pulumi program creates besides the sync objects (progressive_delivery/platform_inputs.py)."""
    registry: dict[str, Any] = {"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": _DOCKER_CONFIG}}
    return [
        _object("v1", "Namespace", APP_NAMESPACE, labels=APP_NAMESPACE_LABELS),
        _object("v1", "ConfigMap", SETTINGS_CONFIGMAP, FLUX_NAMESPACE, data=dict(settings_data)),
        _object("v1", "ConfigMap", GATEWAY_VALUES_CONFIGMAP, FLUX_NAMESPACE, data={GATEWAY_VALUES_KEY: gateway_values}),
        _object("v1", "Secret", GRAFANA_SECRET, FLUX_NAMESPACE, type="Opaque",
                stringData={GRAFANA_USER_KEY: "admin", GRAFANA_PASSWORD_KEY: "placeholder-password"}),
        _object("v1", "Secret", SCAN_SECRET, FLUX_NAMESPACE, **registry),
        _object("v1", "Secret", PULL_SECRET, APP_NAMESPACE, **registry),
    ]


def provided_objects(cluster_path: str, git_interval: str, branch: str,
                     settings_data: dict[str, str] | None, gateway_values: str = "") -> list[KubeObject]:
    """Everything a cluster has before the tree: the program's objects in stack mode (settings_data
    given), flux bootstrap's otherwise, and Kubernetes' namespaces."""
    origin = PROGRAM_FILE if settings_data is not None else BOOTSTRAP_FILE
    bodies = sync_objects(cluster_path, git_interval, branch)
    if settings_data is not None:
        bodies += program_objects(settings_data, gateway_values)
    return ([KubeObject(body, origin, PROGRAM) for body in bodies]
            + [KubeObject(_object("v1", "Namespace", name), CLUSTER_FILE, CLUSTER) for name in SYSTEM_NAMESPACES])


# Created in every namespace by kube-controller-manager's root CA publisher
# (kubernetes/kubernetes:pkg/controller/certificates/rootcacertpublisher/publisher.go RootCACertConfigMapName),
# and by istiod's namespace controller where Istio runs (istio/istio@1.31.0-rc.0:
# pilot/pkg/serviceregistry/kube/controller/namespacecontroller.go:46, pilot/pkg/features/experimental.go:210).
KUBE_ROOT_CA = "kube-root-ca.crt"
ISTIO_ROOT_CA = "istio-ca-root-cert"


def controller_objects(namespaces: list[str], istio: bool) -> list[KubeObject]:
    """The ConfigMaps controllers create in every namespace (Istio's when istiod runs)."""
    names = [KUBE_ROOT_CA] + ([ISTIO_ROOT_CA] if istio else [])
    return [KubeObject(_object("v1", "ConfigMap", name, namespace, data={"ca.crt": ""}),
                       "(created in every namespace by the cluster)", CLUSTER)
            for namespace in namespaces for name in names]
