"""Publishing benchmark: a generated 200-file tree published to a local `git daemon`.

Reports, per scenario, the wall time and the commits and pushes it made:
a first publish into an auto-initialised repository, an unchanged publish,
a one-file change, and a one-file change after an image tag bump by another
writer (the three-way merge path); and the project's own platform/ published
with the platform check, which then runs twice (on platform/, and on the
merged tree, which holds the repository's README too). Pushes are counted
twice: by the publisher's own counter and by the daemon's log of
receive-pack requests.

    python benchmarks/publish_benchmark.py [--files 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from progressive_delivery.gitutil import hermetic_env  # noqa: E402
from progressive_delivery.publish_flow import PublishResult, publish  # noqa: E402

IDENTITY = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.test",
            "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.test"}
SCENARIOS = ("first publish", "unchanged publish", "one-file change", "one-file change after a tag bump",
             "platform/ with both checks")
PLATFORM = Path(__file__).resolve().parent.parent / "platform"


def git(*args: str, input: bytes | None = None) -> str:
    return subprocess.run(["git", *args], input=input, capture_output=True, check=True,
                          env=hermetic_env(IDENTITY)).stdout.decode().strip()


def generate_tree(root: Path, files: int) -> None:
    """`files` YAML files spread over directories, one of them holding an image tag."""
    for number in range(files):
        path = root / f"group-{number // 10:02d}" / f"resource-{number:03d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: resource-{number:03d}\ndata:\n"]
        lines += [f"  key{n}: value-{number}-{n}\n" for n in range(30)]
        if number == 0:
            lines.append("images:\n  - name: echo-version\n    newTag: 0.1.0\n")
        path.write_text("".join(lines))


def seed_repository(path: Path) -> None:
    """A bare repository with one README commit on main, like GitHub's auto-init."""
    git("init", "--bare", "--quiet", "--initial-branch=main", str(path))
    blob = git(f"--git-dir={path}", "hash-object", "-w", "--stdin", input=b"# bench\n")
    tree = git(f"--git-dir={path}", "mktree", input=f"100644 blob {blob}\tREADME.md\n".encode())
    commit = git(f"--git-dir={path}", "commit-tree", tree, "-m", "Initial commit")
    git(f"--git-dir={path}", "update-ref", "refs/heads/main", commit)


def bump_tag(path: Path) -> None:
    """Another writer's commit on main: the image tag of group-00/resource-000.yaml."""
    tip = git(f"--git-dir={path}", "rev-parse", "refs/heads/main")
    name = "group-00/resource-000.yaml"
    text = git(f"--git-dir={path}", "cat-file", "blob", f"{tip}:{name}") + "\n"
    blob = git(f"--git-dir={path}", "hash-object", "-w", "--stdin",
               input=text.replace("newTag: 0.1.0", "newTag: 0.2.0").encode())
    index = path / "bench-index"
    env = {**hermetic_env(IDENTITY), "GIT_INDEX_FILE": str(index)}
    def run(*a):
        return subprocess.run(["git", f"--git-dir={path}", *a], capture_output=True, check=True,
                                        env=env).stdout.decode().strip()
    run("read-tree", tip)
    run("update-index", "--cacheinfo", f"100644,{blob},{name}")
    tree = run("write-tree")
    index.unlink()
    commit = git(f"--git-dir={path}", "commit-tree", tree, "-p", tip, "-m", "bump echo-version")
    git(f"--git-dir={path}", "update-ref", "refs/heads/main", commit, tip)


@dataclass
class Daemon:
    base: Path
    log: Path
    process: subprocess.Popen = field(init=False)
    port: int = 0

    def start(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                ["git", "daemon", "--export-all", "--enable=receive-pack", "--reuseaddr", "--verbose",
                 "--listen=127.0.0.1", f"--port={self.port}", f"--base-path={self.base}", str(self.base)],
                stdout=subprocess.DEVNULL, stderr=log, env=hermetic_env())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise SystemExit("git daemon did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(5)

    def receive_packs(self) -> int:
        """Pushes the daemon served so far."""
        return sum("receive-pack" in line for line in self.log.read_text().splitlines()
                   if "Request" in line)


@dataclass
class Sample:
    seconds: float
    commits: int
    pushes: int
    daemon_pushes: int
    status: str


def measure(daemon: Daemon, repository: Path, action: Callable[[], PublishResult]) -> Sample:
    commits_before = int(git(f"--git-dir={repository}", "rev-list", "--count", "refs/heads/main"))
    pushes_before = daemon.receive_packs()
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    time.sleep(0.05)  # let the daemon flush its log line
    commits = int(git(f"--git-dir={repository}", "rev-list", "--count", "refs/heads/main")) - commits_before
    return Sample(elapsed, commits, result.pushes, daemon.receive_packs() - pushes_before, result.status)


def run_once(work: Path, daemon: Daemon, files: int, index: int) -> dict[str, Sample]:
    source = work / f"platform-{index}"
    generate_tree(source, files)
    name = f"bench-{index}.git"
    repository = daemon.base / name
    seed_repository(repository)
    url = f"git://127.0.0.1:{daemon.port}/{name}"
    def go():
        return publish(source, url, "main", check=False)
    samples = {"first publish": measure(daemon, repository, go),
               "unchanged publish": measure(daemon, repository, go)}
    changed = source / "group-05" / "resource-050.yaml"
    changed.write_text(changed.read_text() + "  extra: one\n")
    samples["one-file change"] = measure(daemon, repository, go)
    bump_tag(repository)
    changed.write_text(changed.read_text() + "  extra2: two\n")
    samples["one-file change after a tag bump"] = measure(daemon, repository, go)
    checked = work / f"platform-checked-{index}"
    shutil.copytree(PLATFORM, checked)
    seed_repository(daemon.base / f"checked-{index}.git")
    samples["platform/ with both checks"] = measure(daemon, daemon.base / f"checked-{index}.git", lambda: publish(
        checked, f"git://127.0.0.1:{daemon.port}/checked-{index}.git", "main", check=True))
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pd-publish-bench-") as tmp:
        work = Path(tmp)
        (work / "served").mkdir()
        daemon = Daemon(work / "served", work / "daemon.log")
        daemon.start()
        try:
            runs = [run_once(work, daemon, args.files, index) for index in range(args.repeat)]
        finally:
            daemon.stop()
    print(f"publish benchmark: {args.files} files, {args.repeat} runs, git daemon on 127.0.0.1")
    print(f"{'scenario':34} {'median s':>9} {'min s':>7} {'max s':>7} {'commits':>8} {'pushes':>7} "
          f"{'daemon pushes':>14}  status")
    for scenario in SCENARIOS:
        samples = [run[scenario] for run in runs]
        seconds = [s.seconds for s in samples]
        commits = {s.commits for s in samples}
        pushes = {s.pushes for s in samples}
        daemon_pushes = {s.daemon_pushes for s in samples}
        status = {s.status for s in samples}
        print(f"{scenario:34} {statistics.median(seconds):9.3f} {min(seconds):7.3f} {max(seconds):7.3f} "
              f"{'/'.join(map(str, sorted(commits))):>8} {'/'.join(map(str, sorted(pushes))):>7} "
              f"{'/'.join(map(str, sorted(daemon_pushes))):>14}  {'/'.join(sorted(status))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
