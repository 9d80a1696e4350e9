"""The `publish` command: the content of platform/ into the stack's repository (docs/publish.md).

Publishing is split by job:

    publish_source    the files of the source tree and their digest (the Pulumi program's trigger)
    publish_origin    the project commit a tree came from, and whether it had local changes
    publish_session   the git session: fetch, three-way merge, atomic push
    publish_failures  the errors, and git's failures read for people
    publish_messages  commit messages, the published-tree record, refusals
    publish_check     the platform checker on the source and on the merged tree
    publish_flow      the library entry point `publish()` and its retries
    publish           this command line
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .config import KNOWN_HOSTS_FILE
from .publish_failures import PublishError, PublishInputError
from .publish_flow import DEFAULT_AUTHOR, DEFAULT_MAX_RETRIES, publish


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `publish` command."""
    parser = subparsers.add_parser(
        "publish", help="publish platform/ into the stack's repository (one commit, merged, never forced)",
        description="Publish the content of a directory as the root of a branch: one commit when it "
                    "changed, none when not; changes made in the branch by others are kept by a "
                    "three-way merge; never a force push. Refuses when this checkout lacks the commit "
                    "the last publish came from. Exit codes: 0 published or unchanged, 1 failed or "
                    "refused (stale checkout, conflict, check findings, remote errors), 2 unusable input.")
    parser.add_argument("--source", type=Path, default=Path("platform"),
                        help="directory whose content becomes the repository root (default: platform)")
    parser.add_argument("--remote", required=True, help="repository URL (ssh://, git@host:, https://, file://)")
    parser.add_argument("--branch", default="main", help="branch to publish to (default: main)")
    key = parser.add_mutually_exclusive_group()
    key.add_argument("--ssh-key-env", metavar="NAME",
                     help="environment variable holding the deploy key (OpenSSH private key)")
    key.add_argument("--ssh-key-file", type=Path, metavar="FILE", help="file holding the deploy key")
    parser.add_argument("--known-hosts", type=Path, default=KNOWN_HOSTS_FILE, metavar="FILE",
                        help="known_hosts file trusted for SSH remotes (default: github.com's keys)")
    parser.add_argument("--token-env", default="GITHUB_TOKEN", metavar="NAME",
                        help="environment variable holding a token for HTTPS remotes (default: GITHUB_TOKEN)")
    parser.add_argument("--author", default=DEFAULT_AUTHOR, help=f"'Name <email>' (default: {DEFAULT_AUTHOR})")
    parser.add_argument("--message", help="subject of the commit (the trailers are always added)")
    parser.add_argument("--max-retries", type=int, default=DEFAULT_MAX_RETRIES,
                        help=f"fresh tries when the branch moves during the push (default: {DEFAULT_MAX_RETRIES})")
    parser.add_argument("--overwrite-published", dest="overwrite", action="store_true",
                        help="publish even though this checkout lacks the commit the last publish came from; "
                             "where this tree differs from that publish, this tree wins (the files are named)")
    parser.add_argument("--porcelain", action="store_true",
                        help="print only the commit the branch points at afterwards on stdout (the summary "
                             "goes to stderr); what `pulumi up` reads")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="skip the platform check of the source and of the merged tree")
    parser.set_defaults(handler=handle)


def _read_key(args: argparse.Namespace) -> str | None:
    if args.ssh_key_env:
        value = os.environ.get(args.ssh_key_env, "")
        if not value.strip():
            raise PublishInputError(f"The environment variable {args.ssh_key_env} named by --ssh-key-env is "
                                    "not set or empty; set it to the deploy key's OpenSSH private key.")
        return value
    if args.ssh_key_file:
        try:
            return str(args.ssh_key_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or "not a text file"
            raise PublishInputError(f"Cannot read the SSH key file {args.ssh_key_file}: {reason}; give a "
                                    "readable file holding the deploy key's OpenSSH private key.") from None
    return None


def handle(args: argparse.Namespace) -> int:
    """Run `publish` from parsed arguments; print the outcome; return the exit code."""
    try:
        result = publish(
            args.source, args.remote, args.branch, ssh_key=_read_key(args),
            token=os.environ.get(args.token_env) or None, known_hosts=args.known_hosts, author=args.author,
            message=args.message, max_retries=args.max_retries, check=args.check, overwrite=args.overwrite)
    except PublishError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    if args.porcelain:
        print(result.summary(), file=sys.stderr)
        print(result.commit or "")
    else:
        print(result.summary())
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0
