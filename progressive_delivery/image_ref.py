"""echo-version image references read back from a cluster: their tag, and whether they are the app's.

The reference an image is pushed as is `Settings.image(version)`.
"""

from __future__ import annotations

from .project import APP_NAME


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
