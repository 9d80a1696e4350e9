"""Failures status recognises: image scans that cannot resolve the stack's local registry."""

from __future__ import annotations

import pytest
from release_fixtures import staging
from test_readiness import HEALTHY, listings_of, obj

from progressive_delivery import config, known_failures

LOCAL_IMAGE = "k3d-pd-staging-registry:5000/echo-version"
NO_SUCH_HOST = ('scan failed: Get "http://k3d-pd-staging-registry:5000/v2/": dial tcp: lookup '
                "k3d-pd-staging-registry on 10.43.0.10:53: no such host")


def image_repository(message: str, ready: str = "False", image: str = LOCAL_IMAGE) -> dict:
    return obj("echo-version", ready=ready, reason="ReadOperationFailed", message=message, spec={"image": image})


def with_image_repository(item: dict):
    return listings_of(dict(HEALTHY, ImageRepository=[item]))


def test_a_scan_that_cannot_resolve_the_local_registry_is_named():
    (line,) = known_failures.diagnose(with_image_repository(image_repository(NO_SUCH_HOST)), staging())
    assert line.startswith("ImageRepository flux-system/echo-version cannot resolve the local registry "
                           "'k3d-pd-staging-registry' (no such host)")
    assert "new versions are not deployed" in line and "\n" not in line
    assert line.endswith("; fix it with `k3d cluster stop pd-staging && k3d cluster start pd-staging`")


def test_without_a_known_fix_the_failure_is_still_named(monkeypatch):
    monkeypatch.setattr(known_failures, "registry_name_fix", lambda settings: None)
    line = known_failures.registry_name_lost(with_image_repository(image_repository(NO_SUCH_HOST)), staging())
    assert line is not None and line.endswith("new versions are not deployed until the cluster resolves it again")


@pytest.mark.parametrize("item", [
    image_repository(NO_SUCH_HOST, ready="True"),
    image_repository('scan failed: Get "http://k3d-pd-staging-registry:5000/v2/": dial tcp 172.18.0.2:5000: '
                     "connect: connection refused"),
    image_repository("scan failed: dial tcp: lookup ghcr.io on 10.43.0.10:53: no such host"),
    image_repository(NO_SUCH_HOST.replace("pd-staging", "pd-production"),
                     image="k3d-pd-production-registry:5000/echo-version"),
])
def test_other_states_are_not_taken_for_a_lost_registry_name(item):
    assert known_failures.diagnose(with_image_repository(item), staging()) == []


def test_healthy_listings_have_nothing_to_say():
    assert known_failures.diagnose(listings_of(HEALTHY), staging()) == []


def test_an_external_registry_is_not_the_local_registry():
    raw = {"httpPort": 8080, "apiPort": 6550, "registryPort": 5050,
           "imageRepository": "ghcr.io/acme/echo-version", "imageRegistryUsername": "acme"}
    external = config.build_settings("staging", raw, {})
    assert known_failures.diagnose(with_image_repository(image_repository(NO_SUCH_HOST)), external) == []


@pytest.mark.parametrize("image,host", [
    (LOCAL_IMAGE, "k3d-pd-staging-registry"), ("ghcr.io/acme/echo-version", "ghcr.io"),
    ("localhost:5050/echo-version", "localhost"),
])
def test_registry_host(image, host):
    assert known_failures.registry_host(image) == host
