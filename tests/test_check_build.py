"""kustomize error messages as the checker shows them."""

from pathlib import Path

from progressive_delivery.check.build import _kustomize_error

ROOT = Path("/work/project/platform")
OVERLAY = Path("/tmp/pd-check-abc123")

# kubectl's own log lines, as captured from `kubectl kustomize` (kustomize v5).
ONE_LINE = ('E1127 00:24:21.590421   30901 run.go:72] "command failed" err="replacements must specify a source '
            'and at least one target"\n')
MULTI_LINE = ('E1127 00:18:47.133400   26296 run.go:72] "command failed" err=<\n'
              '\ttrouble configuring builtin HelmChartInflationGenerator with config: `\n'
              '\tname: x\n'
              '\t`: must specify --enable-helm\n'
              ' >\n')
QUOTED_PATH = ('E1127 00:24:16.005770   30842 run.go:72] "command failed" err="accumulating resources: '
               "accumulation err='accumulating resources from '../../work/project/platform/apps/staging': "
               'evalsymlink failure on \\"/work/project/platform/apps/staging/x.yaml\\""\n')


def test_one_line_error_loses_the_log_prefix():
    assert _kustomize_error(ONE_LINE, OVERLAY, ROOT) == "replacements must specify a source and at least one target"


def test_multi_line_error_is_joined_without_the_log_prefix():
    message = _kustomize_error(MULTI_LINE, OVERLAY, ROOT)
    assert message == ("trouble configuring builtin HelmChartInflationGenerator with config: ` name: x `: must "
                       "specify --enable-helm")
    assert "E1127" not in message and "err=<" not in message and "command failed" not in message


def test_paths_are_made_relative_to_the_tree():
    message = _kustomize_error(QUOTED_PATH, OVERLAY, ROOT)
    assert "accumulating resources from 'apps/staging'" in message
    assert '"apps/staging/x.yaml"' in message and "/work/project" not in message


def test_unknown_output_is_kept_without_klog_prefixes():
    text = "W1127 00:00:00.000000   1 warnings.go:70] something odd\nplain error text\n"
    assert _kustomize_error(text, OVERLAY, ROOT) == "something odd plain error text"
