"""dependsOn readyExpr: what kustomize-controller's compiler accepts and what it stalls on."""

from __future__ import annotations

import pytest

from progressive_delivery.check.readyexpr import compile_problem, holds, unchecked


@pytest.mark.parametrize("expression", [
    # fluxcd/kustomize-controller@v1.9.4:internal/controller/kustomization_dependson_test.go:302
    "self.metadata.annotations['app/version'] == dep.metadata.annotations['app/version']",
    # fluxcd/pkg@runtime/v0.110.1:runtime/cel/expression_test.go:85 (a dyn field compared to a bool literal)
    "dep.bar.baz == true",
    "has(dep.status.lastAppliedRevision) && dep.metadata.generation == dep.status.observedGeneration && "
    "!dep.status.conditions.exists(c, c.type == 'Ready' && c.status == 'False')",
    "dep.status.conditions.filter(c, c.type == 'Ready').all(c, c.status == 'True')",
    "!dep.spec.suspend", "(dep.spec.suspend == false)", "size(dep.status.inventory.entries) > 0",
    "dep.metadata.name.startsWith('infra') ? true : false", "[1, 2].exists(x, x > 1)", "true",
])
def test_expressions_flux_compiles(expression):
    assert compile_problem(expression) == ""


@pytest.mark.parametrize("expression, problem", [
    # kustomization_dependson_test.go:354: any variable but self and dep
    ("self.generation == deps.generation", "it refers to 'deps', which is not declared"),
    # expression_test.go:72-82: the result type must be bool; a bare struct field is dyn
    ("'foo'", "its result has type string, not bool"),
    ("dep.bar.baz", "its result has type dyn, not bool; compare it, e.g. `== true`"),
    ("dep.metadata.labels['tier']", "its result has type dyn, not bool"),
    ("size(dep.spec)", "its result has type int, not bool"),
    ("dep.status.observedGeneration + 1", "its result has type int, double, string or list (arithmetic)"),
    ("dep.status.ready ==", "it does not parse: syntax error at line 1, column 18"),
])
def test_expressions_flux_stalls_on(expression, problem):
    assert compile_problem(expression).startswith(problem)


def test_optional_syntax_is_not_judged():
    assert unchecked("dep.?status.ready.orValue(false)") and compile_problem("dep.?status.ready.orValue(false)") == ""
    assert not unchecked("dep.status.ready == true")


def test_evaluation_errors_are_retried_like_false():
    assert holds("dep.status.ready == true", {}, {"status": {"ready": True}}) is True
    assert holds("dep.status.ready == true", {}, {"status": {}}) is None          # missing field
    assert holds("dep.status.ready", {}, {"status": {"ready": "yes"}}) is None     # not a bool
