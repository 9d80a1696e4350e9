"""Helm chart repositories over the network: HTTP indexes and OCI registries.

An HTTP repository serves index.yaml (`entries: {chart: [{version, urls, digest}]}`); an OCI
repository (`oci://host/path`, HelmRepository `type: oci` or an OCIRepository) lists a chart's
versions as tags and serves the chart as the layer of mediaType
application/vnd.cncf.helm.chart.content.v1.tar+gzip, behind the registry's anonymous bearer
tokens. The first connection that fails (no route, no DNS) switches the session offline, so an
offline run costs one failed lookup.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..access import YAML_LOADER, mapping, mappings, text

OFFLINE_ENV = "PD_OFFLINE"
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
MANIFEST_TYPES = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class Unreachable(Exception):
    """The network, or this host, cannot be reached."""


class NotFound(Exception):
    """The server answered: no such index, chart, version or tag."""


class Unverified(Exception):
    """The server answered without saying whether it exists: access denied (401/403, a private
    repository), or a reply cut short or malformed."""


@dataclass
class Network:
    """Access to repositories for one check run; off when PD_OFFLINE=1 or after a failed connection."""

    enabled: bool = field(default_factory=lambda: os.environ.get(OFFLINE_ENV, "") not in ("1", "true", "yes"))
    timeout: float = 15.0
    reason: str = ""                  # why it is off
    tokens: dict[str, str] = field(default_factory=dict)

    def off(self, reason: str) -> None:
        self.enabled, self.reason = False, reason

    def get(self, url: str, headers: dict[str, str] | None = None) -> tuple[bytes, dict[str, str]]:
        if not self.enabled:
            raise Unreachable(self.reason or "offline")
        request = urllib.request.Request(url, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (http/https only)
                return response.read(), {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as error:
            raise _answer(url, error.code) from None
        except http.client.HTTPException as error:
            raise Unverified(f"{url}: the reply was cut short or malformed ({type(error).__name__})") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            self.off(f"{urllib.parse.urlsplit(url).netloc} cannot be reached ({reason})")
            raise Unreachable(self.reason) from None

    def exists(self, url: str) -> bool:
        """Whether a URL exists (a HEAD request, following redirects); NotFound is False."""
        if not self.enabled:
            raise Unreachable(self.reason or "offline")
        request = urllib.request.Request(url, method="HEAD")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout):  # noqa: S310 (http/https only)
                return True
        except urllib.error.HTTPError as error:
            answer = _answer(url, error.code)
            if isinstance(answer, NotFound):
                return False
            raise answer from None
        except http.client.HTTPException as error:
            raise Unverified(f"{url}: the reply was malformed ({type(error).__name__})") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            self.off(f"{urllib.parse.urlsplit(url).netloc} cannot be reached ({getattr(error, 'reason', error)})")
            raise Unreachable(self.reason) from None


def _answer(url: str, code: int) -> Exception:
    """What an HTTP error status says: gone (404, 410), not for us to see (401, 403), or a server fault."""
    if code in (404, 410):
        return NotFound(f"{url}: HTTP {code}")
    if code in (401, 403):
        return Unverified(f"{url}: HTTP {code}, access denied (a private repository?)")
    return Unreachable(f"{url}: HTTP {code}")


def _json(data: bytes, what: str) -> dict[str, Any]:
    """A JSON object a registry replied with; Unverified when it is not one."""
    try:
        body = json.loads(data or b"{}")
    except ValueError as error:
        raise Unverified(f"{what}: the reply is not JSON ({error})") from None
    if not isinstance(body, dict):
        raise Unverified(f"{what}: the reply is not a JSON object")
    return body


def index_entries(network: Network, repository_url: str) -> dict[str, list[dict[str, Any]]]:
    """The charts of an HTTP repository: name -> index entries."""
    data, _ = network.get(repository_url.rstrip("/") + "/index.yaml")
    try:
        index = yaml.load(data, Loader=YAML_LOADER)
    except yaml.YAMLError as error:
        raise NotFound(f"{repository_url}/index.yaml is not YAML ({error})") from None
    return {str(name): mappings(index, "entries", str(name)) for name in mapping(index, "entries")}


def pull_http(network: Network, repository_url: str, entry: dict[str, Any]) -> bytes:
    """The archive of an index entry, checked against the entry's digest."""
    urls = [u for u in entry.get("urls") or [] if isinstance(u, str)]
    if not urls:
        raise NotFound(f"{repository_url}: the index lists no URL for version {entry.get('version')}")
    data, _ = network.get(urllib.parse.urljoin(repository_url.rstrip("/") + "/", urls[0]))
    digest = text(entry, "digest")
    if digest and hashlib.sha256(data).hexdigest() != digest.removeprefix("sha256:"):
        raise NotFound(f"{urls[0]}: the download does not match the index digest {digest}")
    return data


@dataclass(frozen=True)
class OciRef:
    """oci://host/path split for the distribution API (plain http only when `insecure`)."""

    host: str
    name: str
    insecure: bool = False

    @classmethod
    def parse(cls, url: str, insecure: bool = False) -> OciRef:
        rest = url.removeprefix("oci://").strip("/")
        host, _, name = rest.partition("/")
        return cls(host, name, insecure)

    def api(self, path: str) -> str:
        return f"{'http' if self.insecure else 'https'}://{self.host}/v2/{self.name}/{path}"


def _oci_get(network: Network, ref: OciRef, path: str, accept: str = "") -> tuple[bytes, dict[str, str]]:
    headers = {"Accept": accept} if accept else {}
    token = network.tokens.get(ref.host + "/" + ref.name)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        return network.get(ref.api(path), headers)
    except Unverified as denied:
        if token is not None or "HTTP 401" not in str(denied):
            raise
    network.tokens[ref.host + "/" + ref.name] = _anonymous_token(network, ref)
    return _oci_get(network, ref, path, accept)


def _anonymous_token(network: Network, ref: OciRef) -> str:
    """A registry's anonymous pull token, from the realm its /v2/ challenge names."""
    url = f"{'http' if ref.insecure else 'https'}://{ref.host}/v2/"
    try:
        with urllib.request.urlopen(urllib.request.Request(url), timeout=network.timeout):  # noqa: S310
            return ""
    except urllib.error.HTTPError as error:
        challenge = dict(_CHALLENGE.findall(error.headers.get("WWW-Authenticate", "")))
    except http.client.HTTPException as error:
        raise Unverified(f"{url}: the reply was malformed ({type(error).__name__})") from None
    except (urllib.error.URLError, OSError) as error:
        raise Unreachable(str(error)) from None
    if "realm" not in challenge:
        return ""
    query = urllib.parse.urlencode({"service": challenge.get("service", ""), "scope": f"repository:{ref.name}:pull"})
    data, _ = network.get(f"{challenge['realm']}?{query}")
    body = _json(data, f"{challenge['realm']} (token)")
    return str(body.get("token") or body.get("access_token") or "")


def oci_tags(network: Network, ref: OciRef) -> list[str]:
    data, _ = _oci_get(network, ref, "tags/list")
    tags = _json(data, ref.api("tags/list")).get("tags") or []
    return [str(t) for t in tags] if isinstance(tags, list) else []


def pull_oci(network: Network, ref: OciRef, tag: str) -> bytes:
    """The chart layer of an OCI artifact, checked against its digest."""
    manifest, _ = _oci_get(network, ref, f"manifests/{tag}", MANIFEST_TYPES)
    layers = [layer for layer in _json(manifest, ref.api(f"manifests/{tag}")).get("layers") or []
              if isinstance(layer, dict) and layer.get("mediaType") == HELM_LAYER]
    if not layers:
        raise NotFound(f"oci://{ref.host}/{ref.name}:{tag} holds no Helm chart layer")
    digest = str(layers[0].get("digest", ""))
    data, _ = _oci_get(network, ref, f"blobs/{digest}")
    if hashlib.sha256(data).hexdigest() != digest.removeprefix("sha256:"):
        raise NotFound(f"oci://{ref.host}/{ref.name}:{tag}: the layer does not match its digest {digest}")
    return data
