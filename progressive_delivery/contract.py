"""What the program hands to the Flux tree: the objects it creates and the names they go by.

The program creates these objects (flux.py, platform_inputs.py); the Flux tree
in platform/ refers to them, and the checker treats them as existing. Each
name lives here only.
"""

from __future__ import annotations

# Flux's own namespace, and the name of its sync objects (GitRepository,
# Kustomization and the Secret holding the deploy key).
FLUX_NAMESPACE = "flux-system"
FLUX_SYNC_NAME = "flux-system"

# ConfigMap whose data Flux substitutes into the tree after each build.
SETTINGS_CONFIGMAP = "cluster-settings"

# Secret with the generated Grafana admin credentials, read through valuesFrom.
GRAFANA_SECRET = "grafana-admin"
GRAFANA_USER_KEY = "admin-user"
GRAFANA_PASSWORD_KEY = "admin-password"

# Registry credentials: for Flux's image scan (flux-system) and for pulls (the app's namespace).
SCAN_SECRET = "echo-version-registry"
PULL_SECRET = "echo-version-pull"

# The application namespace belongs to the program (it holds the pull secret
# before Flux applies the app); the tree does not declare it.
APP_NAMESPACE = "applications"
APP_NAMESPACE_LABELS = {"istio-injection": "enabled"}

# Values of the Istio gateway chart that expose the gateway (Service type and
# annotations), read by the gateway HelmRelease through valuesFrom.
GATEWAY_VALUES_CONFIGMAP = "istio-gateway-values"
GATEWAY_VALUES_KEY = "values.yaml"
