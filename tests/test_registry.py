"""The registry client: tags over the HTTP API (pagination, bearer tokens) and the external registry's credential."""

from __future__ import annotations

import base64
from contextlib import ExitStack

import pytest
from loopback import QuietHandler, serving
from release_fixtures import external

from progressive_delivery import config, registry
from progressive_delivery.registry import RegistryEndpoint

SECRET = "s3cr3t-registry-token"


# --------------------------------------------------------------------------- credential

def test_the_local_registry_needs_no_credential():
    staging = config.load_stack("staging", env={})
    assert registry.registry_password(staging, {config.REGISTRY_PASSWORD_VARIABLE: SECRET, "GITHUB_TOKEN": "t"}) is None
    assert registry.registry_endpoint(staging, None) == RegistryEndpoint("http://localhost:5050", "echo-version")
    production = config.load_stack("production", env={})
    assert registry.registry_endpoint(production, None).base_url == "http://localhost:5051"


@pytest.mark.parametrize("repository", ["ghcr.io/acme/echo-version", "quay.io/acme/echo-version"])
def test_an_external_registry_never_falls_back_to_the_github_token(repository):
    with pytest.raises(registry.MissingCredential) as missing:
        registry.registry_password(external(repository),
                                   {"GITHUB_TOKEN": SECRET, config.REGISTRY_PASSWORD_VARIABLE: ""})
    message = str(missing.value)
    assert "\n" not in message
    assert "export IMAGE_REGISTRY_PASSWORD" in message
    assert "progressive-delivery:imageRegistryPassword" in message and "user 'acme'" in message
    assert SECRET not in message


def test_an_external_registry_uses_its_own_credential():
    env = {"GITHUB_TOKEN": "github-token", config.REGISTRY_PASSWORD_VARIABLE: SECRET}
    endpoint = registry.registry_endpoint(external(), registry.registry_password(external(), env))
    assert (endpoint.base_url, endpoint.name, endpoint.username, endpoint.password) == \
        ("https://ghcr.io", "acme/echo-version", "acme", SECRET)
    assert SECRET not in repr(endpoint)
    assert registry.registry_endpoint(external("docker.io/acme/echo-version"), SECRET).base_url == \
        "https://registry-1.docker.io"


# --------------------------------------------------------------------------- registry API

class Registry:
    """A stand-in registry API on 127.0.0.1: tags, pagination, bearer token auth."""

    def __init__(self, pages: list[list[str]], token: str | None = None, missing: bool = False,
                 token_status: int = 200, realm: str | None = None):
        self.pages, self.token, self.missing, self.token_status = pages, token, missing, token_status
        self.token_requests: list[dict] = []
        stand_in = self

        class Handler(QuietHandler):
            def do_GET(self):
                stand_in.handle(self)

        self.stack = ExitStack()
        self.server = self.stack.enter_context(serving(Handler))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.realm = realm or f"{self.url}/token"

    def handle(self, request: QuietHandler) -> None:
        path = request.path
        if path.startswith("/token"):
            self.token_requests.append({"path": path, "auth": request.headers.get("Authorization")})
            return request.reply_json(self.token_status, {"token": self.token})
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            challenge = f'Bearer realm="{self.realm}",service="test",scope="repository:acme/echo-version:pull"'
            return request.reply_json(401, {"errors": []}, {"WWW-Authenticate": challenge})
        if self.missing:
            return request.reply_json(404, {"errors": [{"code": "NAME_UNKNOWN"}]})
        page = int(path.split("page=")[1]) if "page=" in path else 0
        headers = {}
        if page + 1 < len(self.pages):
            base = path.split("?")[0]
            headers["Link"] = f'<{base}?n=2&page={page + 1}>; rel="next"'
        request.reply_json(200, {"name": "echo-version", "tags": self.pages[page]}, headers)

    def close(self) -> None:
        self.stack.close()


@pytest.fixture
def registry_factory():
    started: list[Registry] = []

    def start(*args, **kwargs) -> Registry:
        started.append(Registry(*args, **kwargs))
        return started[-1]

    yield start
    for server in started:
        server.close()


def test_tags_are_listed_across_pages(registry_factory, monkeypatch):
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # a loopback registry is never proxied
    server = registry_factory([["0.1.0", "1.0.0"], ["1.1.0"]])
    assert registry.list_tags(RegistryEndpoint(server.url, "echo-version")) == ["0.1.0", "1.0.0", "1.1.0"]


def test_a_repository_never_pushed_has_no_tags(registry_factory):
    server = registry_factory([[]], missing=True)
    assert registry.list_tags(RegistryEndpoint(server.url, "echo-version")) == []


def test_bearer_token_is_fetched_with_the_registry_credentials(registry_factory):
    server = registry_factory([["1.0.0"]], token="t0k")
    endpoint = RegistryEndpoint(server.url, "acme/echo-version", "acme", SECRET)
    assert registry.list_tags(endpoint) == ["1.0.0"]
    (request,) = server.token_requests
    assert "service=test" in request["path"] and "scope=repository%3Aacme%2Fecho-version%3Apull" in request["path"]
    assert request["auth"] == "Basic " + base64.b64encode(f"acme:{SECRET}".encode()).decode()


def test_the_credential_never_goes_to_a_plain_http_token_service(registry_factory):
    server = registry_factory([["1.0.0"]], token="t0k", realm="http://registry.invalid/token")
    with pytest.raises(registry.RegistryError, match="is not HTTPS; the registry credential is not sent there"):
        registry.list_tags(RegistryEndpoint(server.url, "acme/echo-version", "acme", SECRET))
    assert server.token_requests == []


def test_a_refused_token_is_a_registry_error(registry_factory):
    server = registry_factory([["1.0.0"]], token="t0k", token_status=403)
    with pytest.raises(registry.RegistryError, match="token service refused access"):
        registry.list_tags(RegistryEndpoint(server.url, "acme/echo-version", "acme", "wrong"))


def test_unreachable_registry_raises():
    with pytest.raises(registry.RegistryUnreachable):
        registry.list_tags(RegistryEndpoint("http://127.0.0.1:9", "echo-version"), timeout=2)


def test_credentials_never_follow_a_redirect_or_a_next_page_to_another_origin(registry_factory):
    elsewhere = registry_factory([["9.9.9"]])
    redirected = registry_factory([["1.0.0"]], token="t0k")

    def moved(request: QuietHandler) -> None:
        request.reply(302, b"", {"Location": f"{elsewhere.url}/token?steal=1"})

    redirected.handle = lambda request: moved(request) if request.path.startswith("/token") else \
        Registry.handle(redirected, request)
    endpoint = RegistryEndpoint(redirected.url, "acme/echo-version", "acme", SECRET)
    with pytest.raises(registry.RegistryError, match="redirected to another origin"):
        registry.list_tags(endpoint)
    assert elsewhere.token_requests == [], "the credential went to another origin"

    paged = registry_factory([["1.0.0"], ["1.1.0"]])
    paged.handle = lambda request: request.reply_json(
        200, {"tags": ["1.0.0"]}, {"Link": f'<{elsewhere.url}/v2/next>; rel="next"'})
    with pytest.raises(registry.RegistryError, match="next page is on another origin"):
        registry.list_tags(RegistryEndpoint(paged.url, "echo-version"))
