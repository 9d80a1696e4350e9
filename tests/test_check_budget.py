"""The budget: from a new image to its canary's start, by what the controllers do with the tree's settings."""

from __future__ import annotations

import pytest
from conftest import write_tree

from progressive_delivery.check.budget import (
    DEFAULT_REQUEUE_DEPENDENCY,
    analysis_steps,
    format_duration,
    parse_duration,
)
from progressive_delivery.check.pipeline import run


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("1m", 60), ("1h30m", 5400), ("1m30s", 90),
                                           ("500ms", 0.5), ("0", 0), ("2.5m", 150)])
def test_go_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1x", "m", "10", None])
def test_not_go_durations(text):
    assert parse_duration(text) is None


def test_format_duration():
    assert [format_duration(s) for s in (30, 90, 31.5, 3700)] == ["30s", "1m30s", "31.5s", "61m40s"]


@pytest.mark.parametrize("analysis, steps", [
    ({"maxWeight": 50, "stepWeight": 10}, 5), ({"maxWeight": 60, "stepWeight": 20}, 3),
    ({"stepWeights": [5, 10, 25, 50]}, 4), ({"iterations": 10}, 10), ({}, 0),
])
def test_analysis_steps(analysis, steps):
    assert analysis_steps(analysis) == steps


def kustomization(name: str, path: str, depends: list[dict] | None = None) -> str:
    lines = ["apiVersion: kustomize.toolkit.fluxcd.io/v1", "kind: Kustomization", "metadata:", f"  name: {name}",
             "  namespace: flux-system", "spec:", "  interval: 10m", "  prune: true", f"  path: {path}",
             "  sourceRef:", "    kind: GitRepository", "    name: flux-system"]
    for dep in depends or []:
        lines.append("  dependsOn:" if dep is depends[0] else "")
        lines += [f"    - name: {dep['name']}"] + ([f"      readyExpr: '{dep['expr']}'"] if "expr" in dep else [])
    return "\n".join(line for line in lines if line) + "\n"


APP = """apiVersion: v1
kind: Namespace
metadata: {name: web}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "registry.example.com/web:1.0.0", ports: [{containerPort: 80}]}]}
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: web, namespace: web}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  service: {port: 80}
  analysis: {interval: ANALYSIS, threshold: 3, maxWeight: 50, stepWeight: 25}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: web, namespace: flux-system}
spec: {image: registry.example.com/web, interval: 45s}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: web, namespace: flux-system}
spec:
  imageRepositoryRef: {name: web}
  policy: {semver: {range: ">=0.0.0"}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {name: web, namespace: flux-system}
spec:
  interval: 10m
  sourceRef: {kind: GitRepository, name: flux-system}
  git: {commit: {author: {name: bot, email: bot@example.com}}}
  update: {path: ./app, strategy: Setters}
"""

FLAGGER_CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: canaries.flagger.app}
spec:
  group: flagger.app
  names: {kind: Canary, plural: canaries}
  scope: Namespaced
  versions: [{name: v1beta1, served: true, schema: {openAPIV3Schema: {type: object}}}]
"""


def check(tmp_path, depends: list[dict], analysis: str = "30s", extra: dict | None = None):
    """The report on a tree of three Kustomizations, app -> infra -> base, with a Canary in app."""
    files = {
        "clusters/c/base.yaml": kustomization("base", "./base"),
        "clusters/c/infra.yaml": kustomization("infra", "./infra", [{"name": "base"}]),
        "clusters/c/app.yaml": kustomization("app", "./app", depends),
        "base/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: base}\n",
        "infra/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: infra}\n",
        "app/app.yaml": APP.replace("ANALYSIS", analysis),
        **(extra or {}),
    }
    write_tree(tmp_path / "crds", {"flagger.yaml": FLAGGER_CRD})
    report, _ = run(write_tree(tmp_path / "tree", files), crds_dir=tmp_path / "crds", cluster_path="clusters/c",
                    online=False)
    return report


def budget_of(tmp_path, depends: list[dict], analysis: str = "30s", extra: dict | None = None):
    report = check(tmp_path, depends, analysis, extra)
    assert report.ok, report.format()
    [canary] = report.budgets["clusters/c"].canaries
    return canary


def test_each_dependency_level_costs_one_requeue(tmp_path):
    canary = budget_of(tmp_path, [{"name": "infra"}])
    seconds = [step.seconds for step in canary.steps]
    # scan interval, policy and automation at once, git poll of flux bootstrap's 1m with 5% jitter, 2 levels, tick
    assert seconds == [45.0, 0.0, 63.0, 2 * DEFAULT_REQUEUE_DEPENDENCY, 30.0]
    assert canary.image_to_start == sum(seconds)
    assert (canary.analysis_steps, canary.clean_run) == (2, 30.0 * (1 + 2 + 3))


@pytest.mark.parametrize("expression, waits", [
    # applied once, spec observed, not failed: true while the dependency reconciles the new revision
    ("has(dep.status.lastAppliedRevision) && dep.metadata.generation == dep.status.observedGeneration && "
     "!dep.status.conditions.exists(c, c.type == 'Ready' && c.status == 'False')", False),
    # Ready is Unknown while the dependency reconciles: waits like the built-in check
    ("dep.status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')", True),
    # a revision comparison waits too
    ("dep.status.lastAttemptedRevision == dep.status.lastAppliedRevision", True),
    # an expression that fails to evaluate is retried like false
    ("dep.status.nothing == 1", True),
])
def test_ready_expressions_are_evaluated_as_a_new_revision_finds_the_dependency(tmp_path, expression, waits):
    """app -> infra (with the expression) -> base: waiting on infra also waits for infra's own wait on base."""
    canary = budget_of(tmp_path, [{"name": "infra", "expr": expression.replace("'", "''")}])
    assert canary.steps[3].seconds == (2 * DEFAULT_REQUEUE_DEPENDENCY if waits else 0.0)


@pytest.mark.parametrize("expression, problem", [
    ("self.generation == deps.generation", "it refers to 'deps', which is not declared"),
    ("dep.spec.suspend", "its result has type dyn, not bool; compare it"),
    ("'ready'", "its result has type string, not bool"),
    ("dep.status.conditions.exists(c,", "it does not parse: syntax error at line 1"),
])
def test_a_ready_expression_that_does_not_compile_stalls_its_kustomization(tmp_path, expression, problem):
    """Flux stops for good at such an expression: a finding naming both, and a canary that never starts."""
    report = check(tmp_path, [{"name": "infra", "expr": expression.replace("'", "''")}])
    [finding] = report.findings
    assert (finding.kind, finding.name, finding.path) == ("Kustomization", "app", "clusters/c/app.yaml")
    assert finding.message.startswith(f"dependsOn flux-system/infra readyExpr '{expression}' does not compile: "
                                      f"{problem}")
    assert finding.message.endswith("Flux stalls this Kustomization for good, so neither it nor anything depending "
                                    "on it is ever applied; fix the expression")
    [canary] = report.budgets["clusters/c"].canaries
    assert canary.image_to_start is None and "never starts: the readyExpr of Kustomization flux-system/app for " \
        "dependsOn flux-system/infra does not compile" in canary.lines()[0]


def test_a_ready_expression_with_optional_syntax_is_listed_as_not_checked(tmp_path):
    report = check(tmp_path, [{"name": "infra", "expr": "dep.?status.orValue(null) != null"}])
    assert report.ok and any("uses CEL's optional syntax, which cel-python does not parse: not checked" in n
                             for n in report.notices["clusters/c"])


def test_the_tree_can_change_the_requeue_interval_and_flagger_keeps_a_10s_minimum(tmp_path):
    controller = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: kustomize-controller, namespace: "
                  "flux-system}\nspec:\n  selector: {matchLabels: {app: k}}\n  template:\n    metadata: {labels: "
                  "{app: k}}\n    spec: {containers: [{name: manager, image: kc, args: [--requeue-dependency=5s]}]}\n")
    canary = budget_of(tmp_path, [{"name": "infra"}], analysis="2s", extra={
        "clusters/c/flux-system.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: flux-system}\n---\n"
                                       + controller})
    assert canary.steps[3].seconds == 10.0 and canary.steps[4].seconds == 10.0


def test_without_image_automation_there_is_no_figure(tmp_path):
    canary = budget_of(tmp_path, [], extra={"app/app.yaml": APP.replace("ANALYSIS", "1m").replace(
        "image: registry.example.com/web", "image: elsewhere.example.com/web")})
    assert canary.image_to_start is None and canary.analysis_interval == 60.0


def test_an_automation_counts_only_for_the_policies_its_selector_selects(tmp_path):
    selecting = "  policySelector: {matchLabels: {app: web}}\n"
    app = APP.replace("  update: {path: ./app, strategy: Setters}\n",
                      "  update: {path: ./app, strategy: Setters}\n" + selecting)
    canary = budget_of(tmp_path / "other", [], extra={"app/app.yaml": app.replace("ANALYSIS", "30s")})
    assert canary.image_to_start is None and canary.lines()[0].endswith("no image automation updates its target")
    labelled = app.replace("metadata: {name: web, namespace: flux-system}\nspec:\n  imageRepositoryRef",
                           "metadata: {name: web, namespace: flux-system, labels: {app: web}}\nspec:\n"
                           "  imageRepositoryRef")
    assert budget_of(tmp_path / "same", [], extra={"app/app.yaml": labelled.replace("ANALYSIS", "30s")}).image_to_start


def test_the_git_poll_is_that_of_the_source_the_kustomization_syncs_from(tmp_path):
    """A Kustomization fed by an ExternalArtifact is not timed by the poll of flux-system/flux-system."""
    generator = ("apiVersion: source.extensions.fluxcd.io/v1beta1\nkind: ArtifactGenerator\nmetadata:\n  name: app\n"
                 "  namespace: flux-system\nspec:\n  sources:\n"
                 "    - {alias: repo, kind: GitRepository, name: flux-system}\n"
                 "  artifacts:\n    - name: app\n      copy:\n        - {from: '@repo/app/**', to: '@artifact/'}\n")
    app = kustomization("app", "./").replace("kind: GitRepository\n    name: flux-system",
                                             "kind: ExternalArtifact\n    name: app")
    canary = budget_of(tmp_path, [], extra={"clusters/c/app.yaml": app, "clusters/c/generator.yaml": generator})
    assert canary.image_to_start is None
    assert canary.missing == ("Kustomization flux-system/app syncs from ExternalArtifact flux-system/app, whose delay "
                              "is not modelled")


def test_the_project_tree_keeps_its_budget_under_90s_and_it_follows_the_intervals(check_tree):
    """The platform's promise: a new image starts its canary within 90 s in every stack. Scanning the
    ImageRepository 30 s less often costs exactly 30 s more."""
    def budgets() -> dict[str, float]:
        report, views = run(check_tree.root, online=False)
        found = {}
        for view in views:
            [canary] = report.budgets[view.target.name].canaries
            assert canary.image_to_start is not None, canary.lines()
            found[view.target.name] = canary.image_to_start
        return found

    before = budgets()
    assert len(before) >= 2 and all(0 < seconds < 90 for seconds in before.values()), before
    check_tree.edit("ImageRepository", lambda doc: doc["spec"].__setitem__(
        "interval", f"{parse_duration(doc['spec']['interval']) + 30:g}s"))
    assert budgets() == {stack: seconds + 30 for stack, seconds in before.items()}
