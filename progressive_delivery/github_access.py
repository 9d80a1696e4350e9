"""What the stack's GitHub token can do, asked of GitHub's REST API before anything is created.

Classic tokens list their scopes in the `X-OAuth-Scopes` header of every
answer; fine-grained tokens list none, so for them only validity and the
owner are checked here (GitHub's own refusal names a missing permission
later). The token goes only into the Authorization header, never into a
message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from .settings import Settings
from .text import is_loopback_url

DEFAULT_API_URL = "https://api.github.com"
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Answer:
    """A GitHub API answer: status, parsed body and the token's scopes (None when not listed)."""

    status: int
    body: Any
    scopes: frozenset[str] | None


class Unreachable(Exception):
    """The API did not answer."""


def ask(api_url: str, path: str, token: str) -> Answer:
    """GET `path` of the API with the token; HTTP errors are answers, network failures raise Unreachable."""
    request = urllib.request.Request(f"{api_url.rstrip('/')}{path}", headers={
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "User-Agent": "progressive-delivery-preflight",
    })
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (https or test loopback)
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, error.headers, error.read()
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise Unreachable(str(reason)) from None
    header = headers.get("X-OAuth-Scopes") if headers is not None else None
    scopes = None if header is None else frozenset(s.strip() for s in header.split(",") if s.strip())
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        body = None
    return Answer(status, body, scopes)


def api_url_problem(api_url: str) -> str | None:
    """GitHub's API over https; a loopback stand-in (tests) may use http. Repositories live on github.com
    (their SSH URL and host keys), so no other API is accepted."""
    parts = urllib.parse.urlsplit(api_url)
    if is_loopback_url(api_url):
        return None
    if parts.scheme != "https":
        return f"github:baseUrl: {api_url} is not https: the token would travel in clear; use an https:// URL"
    if parts.hostname != urllib.parse.urlsplit(DEFAULT_API_URL).hostname:
        return (f"github:baseUrl: {api_url} is not github.com's API; repositories are published to and synced "
                "from github.com: remove github:baseUrl")
    return None


def needed_scopes(settings: Settings) -> dict[str, str]:
    """Classic-token scopes the settings need, each with what it is for."""
    repository = "public_repo" if settings.repository.visibility == "public" else "repo"
    needed = {repository: f"to create the {settings.repository.visibility} repository and its deploy key"}
    if not settings.repository.archive_on_destroy:
        needed["delete_repo"] = ("to delete the repository on `pulumi destroy` (or set "
                                 "progressive-delivery:repositoryOnDestroy to archive)")
    return needed


def token_problems(settings: Settings, token: str, api_url: str = DEFAULT_API_URL) -> list[str]:
    """One line per problem with the token or the owner; [] when the settings can be carried out."""
    if problem := api_url_problem(api_url):
        return [problem]
    try:
        user = ask(api_url, "/user", token)
        if user.status == 401:
            return ["github:token: GitHub rejects the token (401 Bad credentials); create a new one and set it "
                    "again (GITHUB_TOKEN or `pulumi config set --secret github:token`)"]
        if user.status != 200 or not isinstance(user.body, dict):
            return [f"github:token: GitHub answered {user.status} to GET /user; check the token and "
                    f"{api_url}"]
        owner = ask(api_url, f"/users/{settings.repository.owner}", token)
    except Unreachable as error:
        return [f"cannot reach the GitHub API at {api_url} ({error}); check the network, or set "
                "PD_PREFLIGHT=0 to skip the checks"]
    problems = []
    held = user.scopes
    if held is not None:
        implied = held | ({"public_repo"} if "repo" in held else set())
        for scope, purpose in needed_scopes(settings).items():
            if scope not in implied:
                problems.append(f"github:token: the token lacks the '{scope}' scope, needed {purpose}")
    login = str(user.body.get("login", ""))
    name = settings.repository.owner
    if owner.status == 404:
        problems.append(f"progressive-delivery:repositoryOwner: '{name}' is no GitHub user or organisation")
    elif owner.status == 200 and isinstance(owner.body, dict) and owner.body.get("type") == "User":
        if login.lower() != name.lower():
            problems.append(f"progressive-delivery:repositoryOwner: '{name}' is a user other than the token's "
                            f"user '{login}'; GitHub creates repositories only under the token's own user or an "
                            f"organisation: set the owner (or GITHUB_OWNER) to {login} or to an organisation")
        if settings.repository.visibility == "internal":
            problems.append("progressive-delivery:repositoryVisibility: internal repositories exist only in "
                            f"organisations, and '{name}' is a user: use private")
    return problems
