"""A dependsOn[].readyExpr as kustomize-controller compiles and evaluates it (with cel-python).

fluxcd/kustomize-controller@v1.9.4:internal/controller/kustomization_controller.go:632-657 (evalReadyExpr)
builds the expression with fluxcd/pkg@runtime/v0.110.1:runtime/cel/expression.go:44-107 NewExpression(
WithCompile, WithOutputType(bool), WithStructVariables("self", "dep")): `self` is the Kustomization that
waits, `dep` its dependency, both google.protobuf.Struct, so every field of theirs is `dyn`. Compiling
rejects a syntax error, any other variable, and a result whose static type is not bool: a bare field
such as `dep.spec.suspend` is dyn and must be compared (`== true`); runtime/cel/expression_test.go:72-87
has both cases. That error is terminal (kustomization_controller.go:246-254): the Kustomization stalls
and never applies, nor does anything that depends on it. An evaluation error (a field that is missing)
is not: it is retried like false (EvaluateBoolean, expression.go:134-144).

cel-python parses the same grammar but does not type-check, so the names and the result type are read
from its parse tree; where the type cannot be told (a function it does not know) nothing is reported.
Its grammar lacks the optional syntax (`.?field`, `[?key]`) Flux enables: such an expression is not
checked (`unchecked`).
"""

from __future__ import annotations

import re
from typing import Any

VARIABLES = ("self", "dep")
# Identifiers that name no variable: type names and the namespaces of the CEL extensions Flux enables.
_GLOBALS = {"bool", "int", "uint", "double", "string", "bytes", "list", "map", "null_type", "type", "dyn",
            "google", "optional", "strings", "base64", "sets"}
_MACROS = {"all", "exists", "exists_one", "map", "filter"}            # bind their first argument
_BOOL_METHODS = {"all", "exists", "exists_one", "contains", "startsWith", "endsWith", "matches", "hasValue",
                 "equivalent", "intersects"}
_BOOL_FUNCTIONS = {"has", "bool", "matches"}
_FUNCTION_TYPES = {"int": "int", "uint": "uint", "double": "double", "string": "string", "bytes": "bytes",
                   "size": "int", "duration": "google.protobuf.Duration", "timestamp": "google.protobuf.Timestamp",
                   "type": "type", "dyn": "dyn"}
_LITERAL_TYPES = {"BOOL_LIT": "bool", "INT_LIT": "int", "UINT_LIT": "uint", "FLOAT_LIT": "double",
                  "STRING_LIT": "string", "MLSTRING_LIT": "string", "BYTES_LIT": "bytes", "NULL_LIT": "null_type"}
_STRUCT, _DYN, _ARITHMETIC = "map(string, dyn)", "dyn", "int, double, string or list (arithmetic)"
# Rules whose single child is the whole value (the grammar's precedence levels, parentheses).
_WRAPPERS = {"expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication", "unary", "member",
             "primary", "paren_expr"}
_OPTIONAL_SYNTAX = re.compile(r"\.\s*\?|\[\s*\?")


def unchecked(expression: str) -> bool:
    """Whether the expression uses syntax cel-python cannot parse but Flux accepts (optional fields)."""
    return bool(_OPTIONAL_SYNTAX.search(expression)) and _parse(expression)[0] is None


def compile_problem(expression: str) -> str:
    """Why kustomize-controller cannot compile the expression ("" when it can, or when that cannot be told)."""
    tree, error = _parse(expression)
    if tree is None:
        return "" if unchecked(expression) else f"it does not parse: {error}"
    bound = {name for call in tree.find_data("member_dot_arg") if str(call.children[1]) in _MACROS
             and len(call.children) > 2 and (name := _bare_ident(call.children[2].children[0]))}
    for node in tree.find_data("ident"):
        name = str(node.children[0])
        if name not in VARIABLES and name not in bound and name not in _GLOBALS:
            return (f"it refers to '{name}', which is not declared: the expression sees only `self` (this "
                    "Kustomization) and `dep` (the dependency)")
    result = _type(tree)
    if result is not None and result != "bool":
        hint = "; compare it, e.g. `== true`" if result == _DYN else ""
        return f"its result has type {result}, not bool{hint}"
    return ""


def holds(expression: str, self_body: dict[str, Any], dep_body: dict[str, Any]) -> bool | None:
    """The expression's value for two objects; None when evaluating it fails (Flux retries it like false)."""
    import celpy
    from celpy.evaluation import CELEvalError, CELSyntaxError, CELUnsupportedError

    tree, _ = _parse(expression)
    if tree is None:
        return None
    environment = celpy.Environment()
    try:
        value = environment.program(tree).evaluate({"self": celpy.json_to_cel(self_body),
                                                    "dep": celpy.json_to_cel(dep_body)})
    except (CELEvalError, CELSyntaxError, CELUnsupportedError):
        return None
    return bool(value) if isinstance(value, celpy.celtypes.BoolType) else None


def _parse(expression: str) -> tuple[Any, str]:
    """(parse tree, "") or (None, cel-python's message)."""
    import celpy

    try:
        return celpy.Environment().compile(expression), ""
    except celpy.CELParseError as error:
        return None, f"syntax error at line {error.line}, column {error.column}"


def _bare_ident(node: Any) -> str:
    """The name when a subtree is nothing but an identifier (the variable a macro binds), else ""."""
    while hasattr(node, "data") and len(node.children) == 1 and node.data != "ident":
        node = node.children[0]
    return str(node.children[0]) if getattr(node, "data", None) == "ident" else ""


def _type(node: Any) -> str | None:
    """The static type of a subtree as cel-go's checker sees it, where this can tell (else None)."""
    rule, kids = str(node.data), node.children
    if rule in _WRAPPERS and len(kids) == 1:
        return _type(kids[0])
    if rule == "expr":                                   # a ? b : c
        left, right = _type(kids[1]), _type(kids[2])
        return left if left == right else None
    if rule in ("conditionalor", "conditionaland", "relation"):
        return "bool"
    if rule in ("addition", "multiplication"):
        return _ARITHMETIC
    if rule == "unary":
        return "bool" if kids[0].data == "unary_not" else _ARITHMETIC
    if rule in ("member_dot", "member_index"):
        return _DYN if _type(kids[0]) in (_STRUCT, _DYN) else None
    if rule == "member_dot_arg":
        return "bool" if str(kids[1]) in _BOOL_METHODS else None
    if rule == "ident":
        return _STRUCT if str(kids[0]) in VARIABLES else None
    if rule == "ident_arg":
        name = str(kids[0])
        return "bool" if name in _BOOL_FUNCTIONS else _FUNCTION_TYPES.get(name)
    if rule == "literal":
        return _LITERAL_TYPES.get(kids[0].type)
    return {"list_lit": "list", "map_lit": "map"}.get(rule)
