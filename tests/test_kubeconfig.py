"""The kubeconfig: an explicit file checked before use, or the stack's k3d kubeconfig in a private file."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from release_fixtures import KUBECONFIG, FakeTools

from progressive_delivery import config, kubeconfig
from progressive_delivery.kube import KubeconfigUnusable
from progressive_delivery.kubeconfig import KubeconfigSource, check_file, choose_kubeconfig, kubeconfig_path
from progressive_delivery.process import run_process


def test_kubeconfig_is_the_explicit_file_else_the_stacks_own_cluster(tmp_path):
    staging = config.load_stack("staging", env={})
    assert choose_kubeconfig(staging, "/a") == KubeconfigSource("file", "/a")
    assert choose_kubeconfig(staging, None) == KubeconfigSource("k3d", "pd-staging")
    with pytest.raises(KubeconfigUnusable, match="--kubeconfig was given an empty path"):
        choose_kubeconfig(staging, "")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    raw = {"clusterProvider": "existing", "kubeconfigPath": str(kubeconfig), "kubeContext": "platform",
           "imageRepository": "ghcr.io/acme/echo-version", "imageRegistryUsername": "acme",
           "grafanaHost": "grafana.example.com"}
    existing = config.build_settings("staging", raw, {})
    assert choose_kubeconfig(existing, None) == KubeconfigSource("file", str(kubeconfig), "platform")
    assert choose_kubeconfig(existing, "/b") == KubeconfigSource("file", "/b", "platform")
    inline = config.build_settings("staging", {k: v for k, v in raw.items() if k != "kubeconfigPath"}, {})
    with pytest.raises(KubeconfigUnusable, match="pulumi stack output kubeconfig --show-secrets --stack staging"):
        choose_kubeconfig(inline, None)


def test_k3d_kubeconfig_is_private_and_removed_even_on_error():
    with pytest.raises(RuntimeError), kubeconfig_path(KubeconfigSource("k3d", "pd-staging"), FakeTools(),
                                                      "staging") as path:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.name.startswith(kubeconfig.TEMPORARY_PREFIX)
        assert path.read_text() == KUBECONFIG
        raise RuntimeError("boom")
    assert not path.exists()


def test_private_file_is_removed_on_a_base_exception():
    class Stop(BaseException):
        pass

    with pytest.raises(Stop), kubeconfig.private_file("secret") as path:
        raise Stop()
    assert not path.exists()


@pytest.mark.parametrize("name,problem", [("nope", ": no such file; "), ("", " is a directory; ")])
def test_an_explicit_kubeconfig_must_be_a_file(tmp_path, name, problem):
    path = tmp_path / name if name else tmp_path
    with pytest.raises(KubeconfigUnusable) as error:
        check_file(path, FakeTools())
    assert str(error.value).startswith(f"--kubeconfig {path}{problem}")
    assert "\n" not in str(error.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_kubeconfig_is_named(tmp_path):
    path = tmp_path / "config"
    path.write_text(KUBECONFIG)
    path.chmod(0)
    with pytest.raises(KubeconfigUnusable, match="cannot be read"):
        check_file(path, FakeTools())


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_a_file_kubectl_does_not_take_is_one_line():
    with pytest.raises(KubeconfigUnusable) as error:
        check_file(Path("/etc/passwd"), run_process)
    message = str(error.value)
    assert message.startswith("--kubeconfig /etc/passwd is not a kubeconfig kubectl can use (error loading config "
                              'file "/etc/passwd"')
    assert "\n" not in message and "leave --kubeconfig out" in message
