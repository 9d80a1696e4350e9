"""echo-version image references: the one the stack's registry receives, and the tag read back from one."""

from __future__ import annotations

from .config import APP_NAME, Settings


def image_reference(settings: Settings, version: str) -> str:
    """`<push repository>:<version>`: what `release` builds and pushes, and what the program reports."""
    return f"{settings.registry.push_repository(settings.cluster.name)}:{version}"


def image_tag(image: str) -> str | None:
    """Tag of an image reference (`host:port/name:tag@digest` -> `tag`), None without one."""
    image = image.split("@", 1)[0]
    name, _, tag = image.rpartition(":")
    return tag if name and "/" not in tag else None


def is_app_image(image: str) -> bool:
    """True for an echo-version image, whichever registry it comes from."""
    repository = image.split("@", 1)[0]
    if image_tag(repository) is not None:
        repository = repository.rpartition(":")[0]
    return repository == APP_NAME or repository.endswith(f"/{APP_NAME}")
