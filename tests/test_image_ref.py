"""echo-version image references: built for a stack's registry, and read back from a Deployment's image."""

from __future__ import annotations

import pytest

from progressive_delivery import config
from progressive_delivery.image_ref import image_tag, is_app_image


def test_the_image_reference_is_the_push_repository_and_the_version():
    staging = config.load_stack("staging", env={})
    production = config.load_stack("production", env={})
    assert staging.image("1.2.0") == "localhost:5050/echo-version:1.2.0"
    assert production.image("2.0.0-rc.1") == "localhost:5051/echo-version:2.0.0-rc.1"
    raw = {"httpPort": 8080, "apiPort": 6550, "registryPort": 5050,
           "imageRepository": "ghcr.io/acme/echo-version", "imageRegistryUsername": "acme"}
    external = config.build_settings("staging", raw, {})
    assert external.image("1.0.0") == "ghcr.io/acme/echo-version:1.0.0"


@pytest.mark.parametrize("image,tag", [
    ("localhost:5050/echo-version:1.2.0", "1.2.0"),
    ("ghcr.io/acme/echo-version:1.2.0-rc.1@sha256:abc", "1.2.0-rc.1"),
    ("localhost:5050/echo-version", None),
    ("echo-version:0.1.0", "0.1.0"),
])
def test_image_tag(image, tag):
    assert image_tag(image) == tag


@pytest.mark.parametrize("image,expected", [
    ("k3d-pd-staging-registry:5000/echo-version:1.2.0", True),
    ("ghcr.io/acme/echo-version@sha256:abc", True),
    ("localhost:5050/echo-version", True),
    ("docker.io/istio/proxyv2:1.27.0", False),
    ("ghcr.io/acme/not-echo-version:1.0.0", False),
])
def test_app_images_are_told_from_sidecars(image, expected):
    assert is_app_image(image) is expected
