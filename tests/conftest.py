"""Shared fixtures."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from echo_harness import Server, servers
from loopback import free_port, wait_until_listening

PROJECT_ROOT = Path(__file__).resolve().parent.parent


# --- platform checker -------------------------------------------------------------------------------

# The tests never reach the internet: the checker's online steps (chart downloads, pin checks) are off
# unless a test turns them on against a loopback server.
os.environ.setdefault("PD_OFFLINE", "1")


def check_platform_source() -> Path:
    """The Flux tree the checker tests run on (the real platform/)."""
    return PROJECT_ROOT / "platform"


def check_charts_source() -> Path | None:
    """Chart archives to render with: $PD_CHARTS_DIR, else ../shared/charts, or None when neither exists."""
    env = os.environ.get("PD_CHARTS_DIR")
    candidate = Path(env) if env else PROJECT_ROOT.parent / "shared" / "charts"
    return candidate if candidate.is_dir() and any(candidate.glob("*.tgz")) else None


@pytest.fixture
def check_charts(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The chart archive directory (also set as PD_CHARTS_DIR); skips tests that render charts where none exists."""
    charts = check_charts_source()
    if charts is None:
        pytest.skip("no chart archives (set PD_CHARTS_DIR or provide ../shared/charts): HelmReleases cannot be "
                    "rendered offline")
    monkeypatch.setenv("PD_CHARTS_DIR", str(charts))
    return charts


@pytest.fixture
def no_charts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A fresh clone: no chart archives and an empty chart cache."""
    monkeypatch.delenv("PD_CHARTS_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def demo_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small chart (Helm's own scaffold) packaged as demo-0.1.0.tgz, with 0.2.0 beside it."""
    import helm_python

    folder = tmp_path_factory.mktemp("charts")
    (folder / "src").mkdir()
    helm_python.Chart.create("demo", folder / "src")
    helm_python.package(folder / "src" / "demo", destination=folder)
    (folder / "src" / "demo" / "Chart.yaml").write_text(
        (folder / "src" / "demo" / "Chart.yaml").read_text().replace("version: 0.1.0", "version: 0.2.0"))
    helm_python.package(folder / "src" / "demo", destination=folder)
    shutil.rmtree(folder / "src")
    return folder


class CheckTree:
    """A copy of the platform tree to break in one place (comments, such as markers, are kept)."""

    def __init__(self, root: Path):
        from ruamel.yaml import YAML

        self.root = root
        self._yaml = YAML()
        self._yaml.preserve_quotes = True
        self._yaml.width = 4096

    def files(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*.y*ml") if p.is_file())

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _documents(self, path: Path) -> list[Any]:
        return list(self._yaml.load_all(path.read_text()))

    def find(self, kind: str, where: Callable[[dict], bool] = lambda doc: True,
             under: str = "") -> tuple[str, dict]:
        """(file, document) of the first source document of a kind that satisfies `where`."""
        for path in self.files():
            if under and not self.rel(path).startswith(under):
                continue
            if f"kind: {kind}" not in path.read_text():    # parsing with ruamel is slow; most files can't match
                continue
            for doc in self._documents(path):
                if isinstance(doc, dict) and doc.get("kind") == kind and where(doc):
                    return self.rel(path), doc
        pytest.fail(f"the platform tree has no {kind} matching the test's needs")

    def edit(self, kind: str, change: Callable[[dict], None], where: Callable[[dict], bool] = lambda doc: True,
             under: str = "") -> tuple[str, dict]:
        """Apply `change` to the first matching document, write the file back; return (file, document)."""
        rel, _ = self.find(kind, where, under)
        path = self.root / rel
        documents = self._documents(path)
        for doc in documents:
            if isinstance(doc, dict) and doc.get("kind") == kind and where(doc):
                change(doc)
                break
        buffer = io.StringIO()
        self._yaml.dump_all(documents, buffer)
        path.write_text(buffer.getvalue())
        return rel, doc

    def add_document(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.write_text(path.read_text().rstrip("\n") + "\n---\n" + text)

    def replace(self, rel: str, old: str, new: str) -> None:
        path = self.root / rel
        text = path.read_text()
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new, 1))


@pytest.fixture
def check_tree(tmp_path: Path) -> CheckTree:
    """A fresh copy of the platform tree in tmp_path."""
    source = check_platform_source()
    if not (source / "clusters").is_dir():
        pytest.fail(f"{source} holds no Flux tree (clusters/ is missing)")
    target = tmp_path / "platform"
    shutil.copytree(source, target)
    return CheckTree(target)


def chart(name: str) -> Callable[[dict], bool]:
    """Matches a HelmRelease document whose chart.spec.chart is `name` (for CheckTree.find and edit)."""
    return lambda doc: ((doc.get("spec") or {}).get("chart") or {}).get("spec", {}).get("chart") == name


def run_check(*argv: str) -> int:
    """`python -m progressive_delivery check ARGV` in-process; returns the exit code."""
    import argparse

    from progressive_delivery.check import cli

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["check", *argv])
    return args.handler(args)


def write_tree(root: Path, files: Mapping[str, str | None]) -> Path:
    """Write `files` (tree-relative path -> text) under `root`; None deletes that file."""
    for rel, text in files.items():
        path = root / rel
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


class LoopbackServers:
    """Servers on 127.0.0.1 started for one test, stopped by their process id."""

    def __init__(self) -> None:
        self.processes: list[Any] = []

    def _start(self, argv: list[str], port: int) -> str:
        import subprocess

        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(process)
        if not wait_until_listening(port, process):
            pytest.fail(f"the loopback server {argv[1:3]} did not start")
        return f"127.0.0.1:{port}"

    def http(self, directory: Path) -> str:
        """Serve a directory over HTTP; the base URL."""
        import sys

        port = free_port()
        return "http://" + self._start([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                        "--directory", str(directory)], port)

    def oci(self, directory: Path, repository: str) -> str:
        """Serve the chart archives of a directory as an OCI registry; the oci:// URL of `repository`."""
        import sys

        port = free_port()
        script = str(Path(__file__).with_name("oci_registry.py"))
        return f"oci://{self._start([sys.executable, script, str(port), str(directory), repository], port)}/" \
            f"{repository}"

    def faulty(self, mode: str) -> str:
        """A repository that refuses or garbles its answers (modes: tests/faulty_registry.py); host:port."""
        import sys

        port = free_port()
        return self._start([sys.executable, str(Path(__file__).with_name("faulty_registry.py")), str(port), mode], port)

    def stop(self) -> None:
        import signal

        for process in self.processes:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=10)


@pytest.fixture
def loopback() -> Any:
    servers = LoopbackServers()
    yield servers
    servers.stop()


# --- echo-version ----------------------------------------------------------------------------------

@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Starts echo-version servers on loopback ports (arguments as on its command line); stops them after."""
    yield from servers(tmp_path)
