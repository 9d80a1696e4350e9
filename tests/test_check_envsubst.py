"""Post-build substitution as Flux's envsubst does it.

EXPAND and STRICT are the cases of fluxcd/pkg@envsubst/v1.7.0:envsubst/eval_test.go (TestExpand,
TestExpandStrict); the function cases come from envsubst/funcs_test.go and the parse trees from
envsubst/parse/parse_test.go (nested lists flattened into one Sequence).
"""

from __future__ import annotations

import pytest

from progressive_delivery.check.build.envsubst import (
    Func,
    Sequence,
    SubstitutionError,
    Text,
    VariableNotSet,
    function,
    parse,
    substitute,
)
from progressive_delivery.check.build.shellglob import glob_match

EXPAND = [
    ({}, 'abcdEFGH28ij', 'abcdEFGH28ij'),
    ({'var01': 'abcdEFGH28ij'}, '${#var01}', '12'),
    ({'var01': 'abcdEFGH28ij'}, '${var01^}', 'AbcdEFGH28ij'),
    ({'var01': 'abcdEFGH28ij'}, '${var01^^}', 'ABCDEFGH28IJ'),
    ({'var01': 'ABCDEFGH28IJ'}, '${var01,}', 'aBCDEFGH28IJ'),
    ({'var01': 'ABCDEFGH28IJ'}, '${var01,,}', 'abcdefgh28ij'),
    ({'path_name': '/home/bozo/ideas/thoughts.for.today'}, '${path_name:11}', 'ideas/thoughts.for.today'),
    ({'path_name': '/home/bozo/ideas/thoughts.for.today'}, '${path_name:11:5}', 'ideas'),
    ({'var': 'abc'}, '${var=xyz}', 'abc'),
    ({}, '${var=xyz}', 'xyz'),
    ({'default_var': 'foo'}, 'something ${var=${default_var}}', 'something foo'),
    ({'default_var': 'foo1'}, 'foo: ${var=${default_var}-suffix}', 'foo: foo1-suffix'),
    ({'default_var': 'foo1'}, 'foo: ${var=prefix${default_var}-suffix}', 'foo: prefixfoo1-suffix'),
    ({}, '${var:=xyz}', 'xyz'),
    ({'stringZ': 'abcABC123ABCabc'}, '${stringZ/%abc/XYZ}', 'abcABC123ABCXYZ'),
    ({'stringZ': 'abcABC123ABCabc'}, '${stringZ/#abc/XYZ}', 'XYZABC123ABCabc'),
    ({'stringZ': 'abcABC123ABCabc'}, '${stringZ//abc/xyz}', 'xyzABC123ABCxyz'),
    ({'stringZ': 'abcABC123ABCabc'}, '${stringZ/abc/xyz}', 'xyzABC123ABCabc'),
    ({'filename': 'bash.string.txt'}, '${filename#*.}', 'string.txt'),
    ({'filename': 'path/to/file'}, '${filename#*/}', 'to/file'),
    ({'filename': '/path/to/file'}, '${filename#*/}', 'path/to/file'),
    ({'filename': 'bash.string.txt'}, '${filename##*.}', 'txt'),
    ({'filename': 'path/to/file'}, '${filename##*/}', 'file'),
    ({'filename': '/path/to/file'}, '${filename##*/}', 'file'),
    ({'filename': 'bash.string.txt'}, '${filename%.*}', 'bash.string'),
    ({'filename': 'bash.string.txt'}, '${filename%%.*}', 'bash'),
    ({'var01': 'abcdEFGH28ij'}, '${var=${var01^^}}', 'ABCDEFGH28IJ'),
    ({'var01': 'abcdEFGH28ij'}, '$${var01}', '${var01}'),
    ({'var01': 'abcdEFGH28ij'}, 'some text ${var01}$${var$${var01}$var01${var01}',
     'some text abcdEFGH28ij${var${var01}$var01abcdEFGH28ij'),
    ({'default_var': 'foo'}, 'something $${var=${default_var}}', 'something ${var=foo}'),
    ({'stringZ': 'foo/bar'}, '${stringZ/\\//-}', 'foo-bar'),
    ({'stringZ': 'foo/bar/baz'}, '${stringZ//\\//-}', 'foo-bar-baz'),
    ({'default_var': 'foo'}, '\\\\something ${var=${default_var}}', '\\\\something foo'),
    ({'stringZ': 'foo.bar'}, '${stringZ/./}', 'foobar')]
STRICT = [
    ({}, 'abcdEFGH28ij', 'abcdEFGH28ij', False),
    ({'foo': 'bar'}, '${foo}', 'bar', False),
    ({'foo': ''}, '${foo}', '', False),
    ({}, '${missing}', '', True),
    ({'foo': 'bar'}, '${missing:=default}', 'default', False),
    ({}, '${#missing}', '', True),
    ({}, '${missing^}', '', True),
    ({}, '${missing^^}', '', True),
    ({}, '${missing,}', '', True),
    ({}, '${missing,,}', '', True),
    ({}, '${missing:0}', '', True),
    ({}, '${missing:0:10}', '', True),
    ({}, '${missing/pattern/replacement}', '', True),
    ({}, '${missing//pattern/replacement}', '', True),
    ({}, '${missing/#pattern/replacement}', '', True),
    ({}, '${missing/%pattern/replacement}', '', True),
    ({}, '${missing#pattern}', '', True),
    ({}, '${missing##pattern}', '', True),
    ({}, '${missing%pattern}', '', True),
    ({}, '${missing%%pattern}', '', True),
    ({}, '${missing:-fallback}', 'fallback', False),
    ({}, '${missing:=assigned}', 'assigned', False),
    ({}, '${missing=assigned}', 'assigned', False)]


@pytest.mark.parametrize("values, text, expected", EXPAND)
def test_expand(values, text, expected):
    assert substitute(text, values).text == expected


@pytest.mark.parametrize("values, text, expected, fails", STRICT)
def test_expand_strict(values, text, expected, fails):
    if fails:
        with pytest.raises(VariableNotSet):
            substitute(text, values, strict=True)
    else:
        assert substitute(text, values, strict=True).text == expected


@pytest.mark.parametrize("name, value, args, expected", [
    ("#", "Hello World", [], "11"),
    (",,", "Hello World", [], "hello world"),
    (",", "HELLO WORLD", [], "hELLO WORLD"),
    (",", "", [], ""),
    ("^^", "Hello World", [], "HELLO WORLD"),
    ("^", "hello world", [], "Hello world"),
    ("^", "", [], ""),
    (":=", "Hello World", ["Hola Mundo"], "Hello World"),
    (":=", "", ["Hola Mundo"], "Hola Mundo"),
    (":=", "", ["Hola Mundo", "-Bonjour le monde", "-Halló heimur"], "Hola Mundo-Bonjour le monde-Halló heimur"),
    (":", "123456789123456789", ["0", "8"], "12345678"),
    (":", "123456789123456789", ["1", "8"], "23456789"),
    (":", "123456789123456789", ["9"], "123456789"),
    (":", "123456789123456789", ["9", "50"], "123456789"),
    (":", "123456789123456789", ["-3", "2"], "78"),
    (":", "123456789123456789", ["-300", "3"], "123"),
    (":", "12345678", ["9", "1"], ""),
])
def test_functions(name, value, args, expected):
    assert function(name, len(args))(value, args) == expected


PARSE_TREES = [
    ("text", Text("text")),
    ("}text", Text("}text")),
    ("http://github.com", Text("http://github.com")),
    ("$${string}", Text("${string}")),
    ("$$string", Text("$string")),
    (r"\\.\pipe\pipename", Text(r"\\.\pipe\pipename")),
    ("${string}", Func("string")),
    ("${string,}", Func("string", ",")),
    ("${string,,}", Func("string", ",,")),
    ("${string^}", Func("string", "^")),
    ("${string^^}", Func("string", "^^")),
    ("${string:position}", Func("string", ":", (Text("position"),))),
    ("${string:position:length}", Func("string", ":", (Text("position"), Text("length")))),
    ("${string#substring}", Func("string", "#", (Text("substring"),))),
    ("${string##substring}", Func("string", "##", (Text("substring"),))),
    ("${string%substring}", Func("string", "%", (Text("substring"),))),
    ("${string%%substring}", Func("string", "%%", (Text("substring"),))),
    ("${string/substring/replacement}", Func("string", "/", (Text("substring"), Text("replacement")))),
    ("${string//substring/replacement}", Func("string", "//", (Text("substring"), Text("replacement")))),
    ("${string/#substring/replacement}", Func("string", "/#", (Text("substring"), Text("replacement")))),
    ("${string/%substring/replacement}", Func("string", "/%", (Text("substring"), Text("replacement")))),
    ("${string=default}", Func("string", "=", (Text("default"),))),
    ("${string:=default}", Func("string", ":=", (Text("default"),))),
    ("${string:-default}", Func("string", ":-", (Text("default"),))),
    ("${string:?default}", Func("string", ":?", (Text("default"),))),
    ("${string:+default}", Func("string", ":+", (Text("default"),))),
    ("${#string}", Func("string", "#")),
    ("${string#$%:*{}", Func("string", "#", (Text("$%:*{"),))),
    ("hello ${#string} world", Sequence((Text("hello "), Func("string", "#"), Text(" world")))),
    (r"\\ hello ${#string} world \\", Sequence((Text(r"\\ hello "), Func("string", "#"), Text(r" world \\")))),
    (r"${string/\/position/length}", Func("string", "/", (Text("/position"), Text("length")))),
    (r"${string/\/position\\/length}", Func("string", "/", (Text("/position\\"), Text("length")))),
    (r"${string/position/\/length}", Func("string", "/", (Text("position"), Text("/length")))),
    (r"${string/position/\/length\\}", Func("string", "/", (Text("position"), Text("/length\\")))),
    (r"${string/position/\/leng\\th}", Func("string", "/", (Text("position"), Text("/leng\\th")))),
    ("${string:${position}}", Func("string", ":", (Func("position"),))),
    ("${string:${stringy:position:length}:${stringz,,}}", Func("string", ":", (
        Func("stringy", ":", (Text("position"), Text("length"))), Func("stringz", ",,")))),
    ("${string#${stringz}}", Func("string", "#", (Func("stringz"),))),
    ("${string=${stringz}}", Func("string", "=", (Func("stringz"),))),
    ("${string=prefix-${var}}", Func("string", "=", (Text("prefix-"), Func("var")))),
    ("${string=${var}-suffix}", Func("string", "=", (Func("var"), Text("-suffix")))),
    ("${string=prefix-${var}-suffix}", Func("string", "=", (Text("prefix-"), Func("var"), Text("-suffix")))),
    ("${string=prefix${var} suffix}", Func("string", "=", (Text("prefix"), Func("var"), Text(" suffix")))),
    ("${string//${stringy}/${stringz}}", Func("string", "//", (Func("stringy"), Func("stringz")))),
]


@pytest.mark.parametrize("text, tree", PARSE_TREES)
def test_parse(text, tree):
    assert parse(text) == tree


@pytest.mark.parametrize("text, message", [
    ("${", "unable to parse variable name"),
    ("${}", "unable to parse variable name"),
    ("${image_repository", "missing closing brace"),
    ("${a-b}", "missing closing brace"),
    ("${a:=b", "unable to parse substitution within function"),
    ("${a:}", "unable to parse substitution within function"),
    ("${a//x}", "bad substitution"),
])
def test_what_flux_rejects(text, message):
    """Expressions Flux's parser rejects fail with envsubst's own message."""
    with pytest.raises(SubstitutionError, match=message):
        substitute(text, {"a": "1"})


def test_missing_and_used_variables_are_reported():
    result = substitute("${a} ${b} ${c:=x} $${d} ${#e}", {"a": "1"})
    assert result.text == "1  x ${d} 0"
    assert result.missing == ["b", "e"] and result.used == ["a", "b", "c", "e"]


@pytest.mark.parametrize("pattern, name, matches", [
    ("*.", "bash.", True), ("*/", "path/to/", True), ("a?c", "abc", True), ("a[b-d]c", "acc", True),
    ("a[^b]c", "abc", False), ("a\\*", "a*", True), ("*", "any/thing", True), ("x*", "y", False),
])
def test_glob_patterns(pattern, name, matches):
    assert glob_match(pattern, name) is matches


def test_malformed_glob_leaves_the_value_alone():
    with pytest.raises(ValueError):
        glob_match("[", "a")
    assert substitute("${v#[}", {"v": "abc"}).text == "abc"
