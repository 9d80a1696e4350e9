"""Branch names as git accepts them, plus the names that would be ambiguous as a branch.

`branch_name_problem` applies the rules `git check-ref-format --branch NAME`
applies (git v2.39.5: object-name.c `strbuf_check_branch_ref`, which prefixes
`refs/heads/` and calls refs.c `check_refname_format`), and refuses three more
kinds of name that git accepts but that would mislead: `@` (git's shorthand
for HEAD), and names starting with `refs/` (read as a full ref name, so
`refs/heads/main` would become `refs/heads/refs/heads/main`).
"""

from __future__ import annotations

# Characters refs.c's refname_disposition table marks as forbidden anywhere in a ref name
# (besides ASCII control characters and DEL): space, ~ ^ : ? [ \ and the pattern star *.
_FORBIDDEN = frozenset(" ~^:?[\\*")
_LOCK_SUFFIX = ".lock"


def _describe(character: str) -> str:
    if character == " ":
        return "a space"
    if ord(character) < 0x20 or ord(character) == 0x7F:
        return f"the control character {character!r}"
    return f"'{character}'"


def _component_problem(component: str) -> str | None:
    if not component:
        return "has an empty part (a '/' at the start or end, or '//')"
    if component.startswith("."):
        return f"has a part starting with '.' ('{component}')"
    if component.endswith(_LOCK_SUFFIX):
        return f"has a part ending with '{_LOCK_SUFFIX}' ('{component}')"
    return None


def branch_name_problem(name: str) -> str | None:
    """None when `name` can be a branch; otherwise one sentence saying why not."""
    problem = _problem(name)
    return None if problem is None else f"'{name}' is not a valid git branch name: it {problem}."


def _problem(name: str) -> str | None:
    if not name:
        return "is empty"
    if name.startswith("-"):
        return "starts with '-', so git would read it as an option"
    if name == "HEAD":
        return "is HEAD, which names the checked-out commit rather than a branch"
    if name == "@":
        return "is '@', git's shorthand for HEAD"
    if name.startswith("refs/"):
        return "starts with 'refs/'; give the short branch name (main, not refs/heads/main)"
    for character in name:
        if ord(character) < 0x20 or ord(character) == 0x7F or character in _FORBIDDEN:
            return f"contains {_describe(character)}"
    if ".." in name:
        return "contains '..'"
    if "@{" in name:
        return "contains '@{'"
    for component in name.split("/"):
        problem = _component_problem(component)
        if problem:
            return problem
    if name.endswith("."):
        return "ends with '.'"
    return None
