"""The stack's image registry over its HTTP API (v2): the echo-version tags it holds, and its credential.

The local registry answers on localhost:<registryPort> without credentials. An
external registry is reached over HTTPS with its own credential only: the
password or token in IMAGE_REGISTRY_PASSWORD (the variable `pulumi up` fills
from the imageRegistryPassword stack secret). No other token stands in for it,
so a GitHub token meant for the stack's repository never reaches a registry.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.client import HTTPMessage
from typing import IO

from .config import APP_NAME, PROJECT, REGISTRY_PASSWORD_VARIABLE, Settings
from .text import is_loopback_url


class RegistryUnreachable(Exception):
    """No answer from the registry."""


class RegistryError(Exception):
    """The registry answered, but not with a tag list."""


class MissingCredential(Exception):
    """An external registry without its own credential; the message names the setting."""


@dataclass(frozen=True)
class RegistryEndpoint:
    """Registry HTTP API v2 address of the echo-version repository, and its credentials."""

    base_url: str
    name: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def registry_password(settings: Settings, env: Mapping[str, str]) -> str | None:
    """The external registry's own password; None for the local registry, which needs none."""
    registry = settings.registry
    if registry.is_local:
        return None
    password = env.get(REGISTRY_PASSWORD_VARIABLE, "")
    if not password:
        raise MissingCredential(
            f"{registry.repository} is an external registry and needs its own credential: export "
            f"{REGISTRY_PASSWORD_VARIABLE} with the password or token of user '{registry.username}' (the value of "
            f"the {PROJECT}:imageRegistryPassword stack secret); GITHUB_TOKEN is never used for it")
    return password


def registry_endpoint(settings: Settings, password: str | None) -> RegistryEndpoint:
    """Local registry on localhost:<registryPort>, or the external registry over HTTPS."""
    registry = settings.registry
    if registry.is_local:
        return RegistryEndpoint(f"http://localhost:{registry.port}", APP_NAME)
    server, name = registry.repository.split("/", 1)
    base = "https://registry-1.docker.io" if server == "docker.io" else f"https://{server}"
    return RegistryEndpoint(base, name, registry.username, password)


def _basic(username: str | None, password: str | None) -> dict[str, str]:
    if not password:
        return {}
    raw = f"{username or 'token'}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def _bearer_token(challenge: str, endpoint: RegistryEndpoint, timeout: float) -> str:
    """Token from the registry's token service named in a `WWW-Authenticate: Bearer` challenge."""
    scheme, _, rest = challenge.partition(" ")
    if scheme.lower() != "bearer":
        raise RegistryError(f"unsupported authentication scheme '{scheme}'")
    params = urllib.request.parse_keqv_list(urllib.request.parse_http_list(rest))
    realm = params.pop("realm", None)
    if not realm:
        raise RegistryError("authentication challenge without a token realm")
    if endpoint.password and urllib.parse.urlsplit(realm).scheme != "https" and not is_loopback_url(realm):
        raise RegistryError(f"the token service {realm} is not HTTPS; the registry credential is not sent there")
    url = f"{realm}?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url, headers=_basic(endpoint.username, endpoint.password))
    with _opener(realm).open(request, timeout=timeout) as response:
        document = json.load(response)
    token = document.get("token") or document.get("access_token") if isinstance(document, dict) else None
    if not token:
        raise RegistryError("the token service returned no token")
    return str(token)


def _token_or_error(challenge: str, endpoint: RegistryEndpoint, timeout: float) -> str:
    """A bearer token, every failure turned into RegistryError or RegistryUnreachable."""
    try:
        return _bearer_token(challenge, endpoint, timeout)
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:
            raise RegistryError(f"the token service redirected to another origin ({error.filename}); the registry "
                                "credential is not sent there") from None
        raise RegistryError(f"the token service refused access (HTTP {error.code}); check the registry "
                            f"user and {REGISTRY_PASSWORD_VARIABLE}") from None
    except (urllib.error.URLError, OSError) as error:
        raise RegistryUnreachable(f"token service: {getattr(error, 'reason', error)}") from None
    except ValueError as error:
        raise RegistryError(f"the token service answered with something that is not JSON ({error})") from None


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def _next_link(header: str | None, base_url: str) -> str | None:
    """The `rel="next"` target of a Link header, absolute; one on another origin is refused (the
    registry's token would follow it)."""
    for part in (header or "").split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") and target.strip().startswith("<"):
            link = urllib.parse.urljoin(base_url, target.strip()[1:-1])
            if _origin(link) != _origin(base_url):
                raise RegistryError(f"the registry's next page is on another origin ({link}); not following it")
            return link
    return None


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects only within the origin asked: urllib would carry the Authorization header (the registry's
    password or token) to wherever a redirect points, plain http:// included."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: HTTPMessage, newurl: str) -> urllib.request.Request | None:
        if _origin(newurl) != _origin(req.full_url):
            raise urllib.error.HTTPError(newurl, code, f"redirect to another origin refused ({newurl})",
                                         headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(base_url: str) -> urllib.request.OpenerDirector:
    """Same-origin redirects only; a loopback registry is reached directly, never through a proxy."""
    handlers: list[urllib.request.BaseHandler] = [_SameOriginRedirects()]
    if is_loopback_url(base_url):
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers)


def list_tags(endpoint: RegistryEndpoint, timeout: float = 5.0, max_pages: int = 50) -> list[str]:
    """Tags of the repository (empty when it was never pushed), following pagination."""
    opener = _opener(endpoint.base_url)
    url: str | None = f"{endpoint.base_url}/v2/{endpoint.name}/tags/list?n=1000"
    token: str | None = None
    tags: list[str] = []
    pages = 0
    while url and pages < max_pages:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            with opener.open(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
                document = json.load(response)
                link = response.headers.get("Link")
        except urllib.error.HTTPError as error:
            if error.code == 401 and token is None and error.headers.get("WWW-Authenticate"):
                token = _token_or_error(error.headers["WWW-Authenticate"], endpoint, timeout)
                continue
            if error.code == 404:
                return tags  # the repository has no image yet
            raise RegistryError(f"HTTP {error.code} {error.reason}") from None
        except (urllib.error.URLError, OSError) as error:
            raise RegistryUnreachable(str(getattr(error, "reason", error))) from None
        except ValueError as error:
            raise RegistryError(f"the answer is not JSON ({error})") from None
        if not isinstance(document, dict):
            raise RegistryError("the answer is not a tag list")
        tags.extend(str(tag) for tag in (document.get("tags") or []))
        url = _next_link(link, endpoint.base_url)
        pages += 1
    return tags
