"""Flux post-build substitution semantics."""

import pytest

from progressive_delivery.check.envsubst import SubstitutionError, invalid_names, substitute

VALUES = {"env": "staging", "repo": "k3d-pd-staging-registry:5000/echo-version", "empty": ""}


@pytest.mark.parametrize("text, expected", [
    ("${env}", "staging"),
    ("image: ${repo}:0.1.0", "image: k3d-pd-staging-registry:5000/echo-version:0.1.0"),
    ("${missing:=dev}", "dev"),
    ("${missing=dev}", "dev"),
    ("${missing:-dev}", "dev"),
    ("${empty:=dev}", "dev"),
    ("${env:=dev}", "staging"),
    ("${missing:=pre-${env}-post}", "pre-staging-post"),
    ("$${env}", "${env}"),
    ("$$${env}", "$staging"),
    ("$env stays", "$env stays"),
    ("cost: $5", "cost: $5"),
    ("${env^^}", "STAGING"),
    ("${#env}", "7"),
    ("${env:0:5}", "stagi"),
    ("${repo%%:*}", "k3d-pd-staging-registry"),
    ("${repo##*/}", "echo-version"),
    ("${env/stag/test}", "testing"),
])
def test_substitution_like_flux(text, expected):
    assert substitute(text, VALUES).text == expected


def test_undefined_variables_become_empty_and_are_reported():
    result = substitute("a: ${nope} b: ${env} c: ${other:=x}", VALUES)
    assert result.text == "a:  b: staging c: x"
    assert result.missing == ["nope"]
    assert set(result.used) == {"nope", "env", "other"}


@pytest.mark.parametrize("text", ["${env-dev}", "${env", "${}", "${env:+x"])
def test_unsupported_or_broken_expressions_fail(text):
    with pytest.raises(SubstitutionError):
        substitute(text, VALUES)


def test_invalid_variable_names():
    assert invalid_names({"ok_1": "", "1bad": "", "bad-name": ""}) == ["1bad", "bad-name"]


def test_unclosed_expression_names_the_expression():
    text = "image: ${image_repository:0.1.0\nports:\n- containerPort: 8080\nterminationGracePeriodSeconds: 30}\n"
    with pytest.raises(SubstitutionError) as error:
        substitute(text, VALUES)
    assert str(error.value) == "unclosed ${ in '${image_repository:0.1.0' (no '}' on that line)"


def test_bad_expression_is_quoted_as_written():
    with pytest.raises(SubstitutionError, match=r"in '\$\{env:x\}'"):
        substitute("a: ${env:x}", VALUES)
