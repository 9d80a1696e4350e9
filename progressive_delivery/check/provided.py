"""Objects that exist in every cluster without being in the tree.

The Pulumi program creates the Flux install and sync objects, the
`cluster-settings` ConfigMap and a few Secrets (see `flux.py` and
`platform_inputs.py`); Kubernetes itself brings its system namespaces.
This is the one list the checker treats as existing besides the tree.
"""

from __future__ import annotations

from typing import Any

from ..contract import (
    APP_NAMESPACE,
    APP_NAMESPACE_LABELS,
    FLUX_NAMESPACE,
    GATEWAY_VALUES_CONFIGMAP,
    GATEWAY_VALUES_KEY,
    GRAFANA_PASSWORD_KEY,
    GRAFANA_SECRET,
    GRAFANA_USER_KEY,
    PULL_SECRET,
    SCAN_SECRET,
    SETTINGS_CONFIGMAP,
)
from ..contract import FLUX_SYNC_NAME as FLUX_SOURCE
from .model import KubeObject

PROGRAM = "(created by the Pulumi program)"
CLUSTER = "(part of every cluster)"
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def _object(api_version: str, kind: str, name: str, namespace: str = "", **extra: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if "labels" in extra:
        metadata["labels"] = extra.pop("labels")
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **extra}


def provided_objects(settings_data: dict[str, str], branch: str, git_interval: str) -> list[KubeObject]:
    """What the program and the cluster provide, for one stack."""
    program = [
        _object("v1", "Namespace", FLUX_NAMESPACE),
        _object("v1", "Namespace", APP_NAMESPACE, labels=dict(APP_NAMESPACE_LABELS)),
        _object("source.toolkit.fluxcd.io/v1", "GitRepository", FLUX_SOURCE, FLUX_NAMESPACE,
                spec={"interval": git_interval, "ref": {"branch": branch}, "secretRef": {"name": FLUX_SOURCE}}),
        _object("kustomize.toolkit.fluxcd.io/v1", "Kustomization", FLUX_SOURCE, FLUX_NAMESPACE,
                spec={"path": "", "sourceRef": {"kind": "GitRepository", "name": FLUX_SOURCE}}),
        _object("v1", "Secret", FLUX_SOURCE, FLUX_NAMESPACE),
        _object("v1", "ConfigMap", SETTINGS_CONFIGMAP, FLUX_NAMESPACE, data=dict(settings_data)),
        _object("v1", "ConfigMap", GATEWAY_VALUES_CONFIGMAP, FLUX_NAMESPACE,
                data={GATEWAY_VALUES_KEY: "service:\n  type: LoadBalancer\n"}),
        _object("v1", "Secret", GRAFANA_SECRET, FLUX_NAMESPACE,
                stringData={GRAFANA_USER_KEY: "", GRAFANA_PASSWORD_KEY: ""}),
        _object("v1", "Secret", SCAN_SECRET, FLUX_NAMESPACE, type="kubernetes.io/dockerconfigjson"),
        _object("v1", "Secret", PULL_SECRET, APP_NAMESPACE, type="kubernetes.io/dockerconfigjson"),
    ]
    cluster = [_object("v1", "Namespace", name) for name in SYSTEM_NAMESPACES]
    return ([KubeObject(body, PROGRAM, "program") for body in program]
            + [KubeObject(body, CLUSTER, "cluster") for body in cluster])
