"""Flux's install manifest for the pinned release: downloaded once, verified, cached.

The manifest is the release asset `install.yaml`; its sha256 is kept with the
pinned version (pins.py). It is read from the user's cache when a verified
copy is there (so a preview needs no download after the first run), from
`PD_FLUX_MANIFEST` when that names a file (air-gapped machines), and
downloaded otherwise. A copy whose digest differs is refused, never used.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from . import pins
from .project import cache_directory

LOCAL_FILE_VARIABLE = "PD_FLUX_MANIFEST"
DOWNLOAD_TIMEOUT_SECONDS = 60.0


class FluxManifestError(Exception):
    """The manifest cannot be had or does not match its pinned digest; the message says what to do."""


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:  # noqa: S310 (https)
        data: bytes = response.read()
        return data


def install_manifest(version: str, env: Mapping[str, str] | None = None,
                     download: Callable[[str], bytes] = _download) -> str:
    """The verified text of Flux `version`'s install.yaml."""
    env = os.environ if env is None else env
    pinned = pins.pin("flux").version
    if version != pinned:
        raise FluxManifestError(f"progressive-delivery:fluxVersion: {version} is not the pinned Flux release, whose "
                                f"install manifest's sha256 is recorded; use {pinned}")
    download_pin = pins.flux_install()
    expected = download_pin.sha256
    cached = cache_directory("flux", env) / version / "install.yaml"
    local = env.get(LOCAL_FILE_VARIABLE)
    if local:
        return _verified(_read(Path(local), LOCAL_FILE_VARIABLE), expected, f"{LOCAL_FILE_VARIABLE}={local}")
    if cached.is_file():
        data = _read(cached, "the cached manifest")
        if hashlib.sha256(data).hexdigest() == expected:
            return data.decode("utf-8")
    url = download_pin.url
    try:
        data = download(url)
    except OSError as error:
        raise FluxManifestError(f"cannot download Flux {version}'s install manifest from {url} ({error}); check "
                                f"the network, or put the file there and set {LOCAL_FILE_VARIABLE}=FILE") from None
    text = _verified(data, expected, url)
    _store(cached, data)
    return text


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise FluxManifestError(f"{what}: cannot read {path}: {error.strerror}") from None


def _verified(data: bytes, expected: str, origin: str) -> str:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise FluxManifestError(f"Flux's install manifest from {origin} has sha256 {actual}, not the pinned "
                                f"{expected}; refusing to install it")
    return data.decode("utf-8")


def _store(path: Path, data: bytes) -> None:
    """Write atomically, so a concurrent run never reads half a file (failure to cache is not fatal)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)
    except OSError:
        pass


def objects(text: str, owner_labels: dict[str, str]) -> list[dict[str, Any]]:
    """The manifest's objects, in order; Flux's namespace carries `owner_labels`, so a later run can
    tell this stack's Flux from someone else's."""
    found = [document for document in yaml.safe_load_all(text) if isinstance(document, dict) and document.get("kind")]
    for document in found:
        if document["kind"] == "Namespace":
            metadata = document.setdefault("metadata", {})
            metadata["labels"] = {**(metadata.get("labels") or {}), **owner_labels}
    return found
