"""Running the git CLI for publishing: a hermetic environment, credentials, scrubbed errors.

Every git process runs with the user's and the system's git configuration
ignored (no hooks, signing or URL rewrites from outside), English messages,
and no terminal prompts. Credentials reach git only through files in a private
temporary directory and environment variables: an SSH deploy key is written to
a 0600 file used by `ssh -i`; a token for HTTPS is answered by a GIT_ASKPASS
script that reads it from the environment, and never over plain http://.
Secrets are scrubbed from anything git prints before it is shown. Each git
runs in its own process group, which is stopped when the caller is
interrupted (Ctrl-C, SIGTERM, SIGHUP), so no git or ssh outlives the run.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .process import communicate_in_group, signals_held

REDACTED = "***"
# Network commands (ls-remote, fetch, push) give up after this long.
NETWORK_TIMEOUT_SECONDS = 180.0
LOCAL_TIMEOUT_SECONDS = 60.0
SSH_CONNECT_TIMEOUT_SECONDS = 20
TOKEN_VARIABLE = "PD_PUBLISH_TOKEN"
TOKEN_USER_VARIABLE = "PD_PUBLISH_TOKEN_USER"
DEFAULT_TOKEN_USER = "x-access-token"

_SCP_LIKE = re.compile(r"^(?:[^@/:]+@)?(?P<host>[^/:]+):(?!//)")
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")

_ASKPASS_SCRIPT = f"""#!/bin/sh
# Answers git's credential prompts from the environment; holds no secret itself. A prompt for a
# plain http:// URL gets nothing: the token never travels in clear.
case "$1" in
  *"'http://"*) exit 1 ;;
  Username*) printf '%s\\n' "${{{TOKEN_USER_VARIABLE}:-{DEFAULT_TOKEN_USER}}}" ;;
  *) printf '%s\\n' "${TOKEN_VARIABLE}" ;;
esac
"""


class GitError(Exception):
    """A git command failed; `stderr` is already scrubbed of secrets."""

    def __init__(self, command: Sequence[str], returncode: int, stderr: str, stdout: str = ""):
        self.command = tuple(command)
        self.returncode = returncode
        self.stderr = stderr
        self.stdout = stdout
        super().__init__(f"git {' '.join(command[:1])} failed ({returncode}): {stderr.strip()}")


class GitTimeout(GitError):
    """A git command ran longer than its time limit."""


class GitMissing(Exception):
    """The git executable cannot be found."""


@dataclass
class Scrubber:
    """Removes known secrets and URL credentials from text meant for people."""

    secrets: list[str] = field(default_factory=list)

    def add(self, secret: str | None) -> None:
        if not secret:
            return
        for candidate in {secret, secret.strip()}:
            if len(candidate) >= 4 and candidate not in self.secrets:
                self.secrets.append(candidate)
        # Multi-line secrets (private keys) may be echoed line by line.
        for line in secret.splitlines():
            line = line.strip()
            if len(line) >= 16 and not line.startswith("-----") and line not in self.secrets:
                self.secrets.append(line)
        self.secrets.sort(key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return display_url(text)


def _hide_userinfo(match: re.Match) -> str:
    """user:password@ anywhere, and any user@ of an http(s) URL (a token may stand alone)."""
    scheme, userinfo = match.group("scheme"), match.group("userinfo")
    if ":" in userinfo or scheme.lower().startswith("http"):
        return f"{scheme}{REDACTED}@"
    return match.group(0)


def display_url(text: str) -> str:
    """`text` with credentials embedded in URLs hidden (`ssh://git@host` stays as is)."""
    return _URL_USERINFO.sub(_hide_userinfo, text)


def url_has_credentials(url: str) -> bool:
    """True when the URL embeds a password or token (user:secret@ anywhere, user@ over http(s))."""
    return display_url(url) != url


def remote_kind(url: str) -> str:
    """`ssh`, `https` (also http), `git` or `local` (file:// and paths)."""
    lowered = url.lower()
    if lowered.startswith(("ssh://", "git+ssh://", "ssh+git://")):
        return "ssh"
    if lowered.startswith(("https://", "http://")):
        return "https"
    if lowered.startswith("git://"):
        return "git"
    if "://" not in url and _SCP_LIKE.match(url):
        return "ssh"
    return "local"


def hermetic_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment without GIT_* overrides, with outside configuration ignored."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k != TOKEN_VARIABLE}
    env.update({
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        # No HTTP redirect is followed: one could lead the credentials to another host or to http://.
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.followRedirects",
        "GIT_CONFIG_VALUE_0": "false",
        "LC_ALL": "C",
        "LANGUAGE": "C",
    })
    env.update(extra or {})
    return env


@dataclass
class Credentials:
    """What authenticates to the remote; both secrets are optional."""

    known_hosts: Path
    ssh_key: str | None = None
    token: str | None = None


class CredentialError(Exception):
    """Credentials are unusable (bad key format, missing known_hosts file)."""


def write_private_file(path: Path, content: str, mode: int) -> None:
    """Create `path` with `mode` from the start (never briefly world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)


def normalise_private_key(key: str) -> str:
    """OpenSSH wants LF line ends and a final newline."""
    return key.replace("\r\n", "\n").strip() + "\n"


def check_ssh_key(path: Path, origin: str) -> None:
    """Fail clearly unless `path` holds an unencrypted private key ssh can load."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if "-----BEGIN" not in text or "PRIVATE KEY-----" not in text:
        raise CredentialError(
            f"{origin} does not hold an OpenSSH private key (expected a block starting with "
            "'-----BEGIN OPENSSH PRIVATE KEY-----'); give the private half of the deploy key.")
    keygen = shutil.which("ssh-keygen")
    if keygen is None:
        return
    result = subprocess.run([keygen, "-y", "-P", "", "-f", str(path)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            timeout=LOCAL_TIMEOUT_SECONDS, env=hermetic_env())
    if result.returncode != 0:
        reason = "it is protected by a passphrase" if "passphrase" in result.stderr.lower() \
            else "ssh cannot load it (invalid or truncated key)"
        raise CredentialError(
            f"{origin} holds a private key that cannot be used: {reason}. "
            "Give the unencrypted OpenSSH private key of the deploy key.")


def _check_known_hosts(path: Path) -> None:
    if not path.is_file():
        raise CredentialError(f"known_hosts file {path} does not exist; pass --known-hosts "
                              "with a file holding the host key of the remote's server.")
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise CredentialError(f"Cannot read the known_hosts file {path}: {error.strerror}; make it "
                              "readable or pass --known-hosts with another file.") from None


def auth_environment(remote: str, credentials: Credentials, private_dir: Path,
                     scrubber: Scrubber) -> dict[str, str]:
    """Environment variables that let git authenticate to `remote`.

    Key and askpass files are written into `private_dir`, which the caller
    creates with mode 0700 and removes afterwards.
    """
    env: dict[str, str] = {}
    kind = remote_kind(remote)
    scrubber.add(credentials.ssh_key)
    scrubber.add(credentials.token)
    if kind == "ssh":
        _check_known_hosts(credentials.known_hosts)
        ssh = ["ssh"]
        if credentials.ssh_key is not None:
            key_file = private_dir / "deploy_key"
            write_private_file(key_file, normalise_private_key(credentials.ssh_key), 0o600)
            check_ssh_key(key_file, "The given SSH key")
            ssh += ["-i", str(key_file), "-o", "IdentitiesOnly=yes"]
        ssh += [
            "-o", f'UserKnownHostsFile="{credentials.known_hosts.resolve()}"',  # quoted: paths may hold spaces
            "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes",
            "-o", f"ConnectTimeout={SSH_CONNECT_TIMEOUT_SECONDS}",
        ]
        env["GIT_SSH_COMMAND"] = shlex.join(ssh)
        env["GIT_SSH_VARIANT"] = "ssh"
    elif kind == "https" and credentials.token:
        if remote.lower().startswith("http://"):
            raise CredentialError(
                f"Refusing to send the token over plain http:// to {display_url(remote)}: anyone on the way "
                "could read it. Use the https:// URL, or an SSH URL with a deploy key, or leave the token "
                "variable (GITHUB_TOKEN or the one named by --token-env) empty for a server that needs none.")
        askpass = private_dir / "askpass.sh"
        write_private_file(askpass, _ASKPASS_SCRIPT, 0o700)
        env["GIT_ASKPASS"] = str(askpass)
        env[TOKEN_VARIABLE] = credentials.token
    return env


@dataclass
class Git:
    """Runs git against one repository: `git_dir` (a bare one), or the checkout around `cwd`."""

    git_dir: Path | None
    env: dict[str, str]
    scrubber: Scrubber
    cwd: Path | None = None

    def run(self, *args: str, input: bytes | None = None, ok: Sequence[int] = (0,),
            network: bool = False) -> tuple[int, bytes, str]:
        """Run `git <args>`; return (exit code, stdout, scrubbed stderr) or raise GitError."""
        prefix = (f"--git-dir={self.git_dir}",) if self.git_dir is not None else ()
        command = ("git", *prefix, *args)
        timeout = NETWORK_TIMEOUT_SECONDS if network else LOCAL_TIMEOUT_SECONDS
        try:
            process = subprocess.Popen(command, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env,
                                       cwd=self.cwd, start_new_session=True)
        except FileNotFoundError as error:
            raise GitMissing("git is not installed or not on PATH; install git (2.38 or newer)") from error
        try:
            # Interrupted (Ctrl-C, SIGTERM, SIGHUP) or timed out: git and what it started (ssh) go with it.
            stdout, stderr_bytes = communicate_in_group(process, input, timeout)
        except subprocess.TimeoutExpired:
            raise GitTimeout(args, -1, f"git {args[0]} did not finish within {int(timeout)} seconds") from None
        stderr = self.scrubber.scrub(stderr_bytes.decode("utf-8", errors="replace"))
        if process.returncode not in ok:
            raise GitError(args, process.returncode, stderr,
                           self.scrubber.scrub(stdout.decode("utf-8", errors="replace")))
        return process.returncode, stdout, stderr

    def text(self, *args: str, input: bytes | None = None) -> str:
        """stdout of a local command, stripped."""
        return self.run(*args, input=input)[1].decode("utf-8").strip()


@contextlib.contextmanager
def private_workspace(prefix: str = "pd-publish-") -> Iterator[Path]:
    """A temporary directory with a private (0700) `auth/` inside; removed on every exit.

    Creation and removal run with the stop signals held back, so a signal
    arriving at either moment cannot leave a key file behind.
    """
    work: Path | None = None
    try:
        with signals_held():
            work = Path(tempfile.mkdtemp(prefix=prefix))
            (work / "auth").mkdir(mode=0o700)
        yield work
    finally:
        if work is not None:
            with signals_held():
                shutil.rmtree(work / "auth", ignore_errors=True)
                shutil.rmtree(work, ignore_errors=True)


def parse_ls_tree(output: bytes) -> dict[str, str]:
    """{path: blob id} from `git ls-tree -r -z`."""
    files = {}
    for entry in output.decode("utf-8", "surrogateescape").split("\0"):
        if entry:
            info, _, path = entry.partition("\t")
            files[path] = info.split()[2]
    return files
