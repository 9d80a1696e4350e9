"""Version constraints as Flux evaluates them (Masterminds/semver v3).

The tables are the cases of Masterminds/semver@71f2b39 (master after v3.4.0; Flux v2.9.4's
controllers require v3.5.0) constraints_test.go: TestConstraintCheck (one constraint, pre-releases
allowed when the constraint has one), TestConstraintsCheck, TestNewConstraint and TestRewriteRange.
"""

from __future__ import annotations

import pytest

from progressive_delivery.check.semver_range import RangeError, best, parse_range, parse_version

CONSTRAINT_CHECK = [
    ('=2.0.0', '1.2.3', False), ('=2.0.0', '2.0.0', True), ('=2.0', '1.2.3', False), ('=2.0', '2.0.0', True),
    ('=2.0', '2.0.1', True), ('4.1', '4.1.0', True), ('!=4.1.0', '4.1.0', False), ('!=4.1.0', '4.1.1', True),
    ('!=4.1', '4.1.0', False), ('!=4.1', '4.1.1', False), ('!=4.1', '5.1.0-alpha.1', False),
    ('!=4.1.0', '5.1.0-alpha.1', False), ('!=4.1-alpha', '4.1.0', True), ('!=4.1', '5.1.0', True),
    ('<11', '0.1.0', True), ('<11', '11.1.0', False), ('<1.1', '0.1.0', True), ('<1.1', '1.1.0', False),
    ('<1.1', '1.1.1', False), ('<=11', '1.2.3', True), ('<=11', '12.2.3', False), ('<=11', '11.2.3', True),
    ('<=1.1', '1.2.3', False), ('<=1.1', '0.1.0', True), ('<=1.1', '1.1.0', True), ('<=1.1', '1.1.1', True),
    ('>1.1', '4.1.0', True), ('>1.1', '1.1.0', False), ('>0', '0', False), ('>0', '1', True),
    ('>0', '0.0.1-alpha', False), ('>0.0', '0.0.1-alpha', False), ('>0-0', '0.0.1-alpha', False),
    ('>0.0-0', '0.0.1-alpha', False), ('>0', '0.0.0-alpha', False), ('>0-0', '0.0.0-alpha', False),
    ('>0.0.0-0', '0.0.0-alpha', True), ('>1.2.3-alpha.1', '1.2.3-alpha.2', True),
    ('>1.2.3-alpha.1', '1.3.3-alpha.2', True), ('>11', '11.1.0', False), ('>11.1', '11.1.0', False),
    ('>11.1', '11.1.1', False), ('>11.1', '11.2.1', True), ('>=11', '11.1.2', True), ('>=11.1', '11.1.2', True),
    ('>=11.1', '11.0.2', False), ('>=1.1', '4.1.0', True), ('>=1.1', '1.1.0', True), ('>=1.1', '0.0.9', False),
    ('>=0', '0.0.1-alpha', False), ('>=0.0', '0.0.1-alpha', False), ('>=0-0', '0.0.1-alpha', True),
    ('>=0.0-0', '0.0.1-alpha', True), ('>=0', '0.0.0-alpha', False), ('>=0-0', '0.0.0-alpha', True),
    ('>=0.0.0-0', '0.0.0-alpha', True), ('>=0.0.0-0', '1.2.3', True), ('>=0.0.0-0', '3.4.5-beta.1', True),
    ('<0', '0.0.0-alpha', False), ('<0-z', '0.0.0-alpha', True), ('>=0', '0', True), ('=0', '1', False),
    ('*', '1', True), ('*', '4.5.6', True), ('*', '1.2.3-alpha.1', False), ('*-0', '1.2.3-alpha.1', True),
    ('2.*', '1', False), ('2.*', '3.4.5', False), ('2.*', '2.1.1', True), ('2.1.*', '2.1.1', True),
    ('2.1.*', '2.2.1', False), ('', '1', True), ('', '4.5.6', True), ('', '1.2.3-alpha.1', False),
    ('2', '1', False), ('2', '3.4.5', False), ('2', '2.1.1', True), ('2.1', '2.1.1', True), ('2.1', '2.2.1', False),
    ('~1.2.3', '1.2.4', True), ('~1.2.3', '1.3.4', False), ('~1.2', '1.2.4', True), ('~1.2', '1.3.4', False),
    ('~1', '1.2.4', True), ('~1', '2.3.4', False), ('~0.2.3', '0.2.5', True), ('~0.2.3', '0.3.5', False),
    ('~1.2.3-beta.2', '1.2.3-beta.4', True), ('~1.2.3-beta.2', '1.2.4-beta.2', True),
    ('~1.2.3-beta.2', '1.3.4-beta.2', False), ('^1.2.3', '1.8.9', True), ('^1.2.3', '2.8.9', False),
    ('^1.2.3', '1.2.1', False), ('^1.1.0', '2.1.0', False), ('^1.2.0', '2.2.1', False),
    ('^1.2.0', '1.2.1-alpha.1', False), ('^1.2.0-alpha.0', '1.2.1-alpha.1', True),
    ('^1.2.0-alpha.0', '1.2.1-alpha.0', True), ('^1.2.0-alpha.2', '1.2.0-alpha.1', False), ('^1.2', '1.8.9', True),
    ('^1.2', '2.8.9', False), ('^1', '1.8.9', True), ('^1', '2.8.9', False), ('^0.2.3', '0.2.5', True),
    ('^0.2.3', '0.5.6', False), ('^0.2', '0.2.5', True), ('^0.2', '0.5.6', False), ('^0.0.3', '0.0.3', True),
    ('^0.0.3', '0.0.4', False), ('^0.0', '0.0.3', True), ('^0.0', '0.1.4', False), ('^0.0', '1.0.4', False),
    ('^0', '0.2.3', True), ('^0', '1.1.4', False), ('^0.2.3-beta.2', '0.2.3-beta.4', True),
    ('^0.2.3-beta.2', '0.2.4-beta.2', True), ('^0.2.3-beta.2', '0.3.4-beta.2', False),
    ('^0.2.3-beta.2', '0.2.3-beta.2', True),
]
CONSTRAINTS_CHECK = [
    ('*', '1.2.3', True), ('~0.0.0', '1.2.3', True), ('0.x.x', '1.2.3', False), ('0.0.x', '1.2.3', False),
    ('0.0.0', '1.2.3', False), ('*', '1.2.3', True), ('^0.0.0', '1.2.3', False), ('= 2.0', '1.2.3', False),
    ('= 2.0', '2.0.0', True), ('4.1', '4.1.0', True), ('4.1.x', '4.1.3', True), ('1.x', '1.4', True),
    ('!=4.1', '4.1.0', False), ('!=4.1-alpha', '4.1.0-alpha', False), ('!=4.1-alpha', '4.1.1-alpha', False),
    ('!=4.1-alpha', '4.1.0', True), ('!=4.1', '5.1.0', True), ('!=4.x', '5.1.0', True), ('!=4.x', '4.1.0', False),
    ('!=4.1.x', '4.2.0', True), ('!=4.2.x', '4.2.3', False), ('>1.1', '4.1.0', True), ('>1.1', '1.1.0', False),
    ('<1.1', '0.1.0', True), ('<1.1', '1.1.0', False), ('<1.1', '1.1.1', False), ('<1.x', '1.1.1', False),
    ('<1.x', '0.1.1', True), ('<1.x', '2.0.0', False), ('<1.1.x', '1.2.1', False), ('<1.1.x', '1.1.500', False),
    ('<1.1.x', '1.0.500', True), ('<1.2.x', '1.1.1', True), ('>=1.1', '4.1.0', True),
    ('>=1.1', '4.1.0-beta', False), ('>=1.1', '1.1.0', True), ('>=1.1', '0.0.9', False), ('<=1.1', '0.1.0', True),
    ('<=1.1', '0.1.0-alpha', False), ('<=1.1-a', '0.1.0-alpha', True), ('<=1.1', '1.1.0', True),
    ('<=1.x', '1.1.0', True), ('<=2.x', '3.0.0', False), ('<=1.1', '1.1.1', True), ('<=1.1.x', '1.2.500', False),
    ('<=4.5', '3.4.0', True), ('<=4.5', '3.7.0', True), ('<=4.5', '4.6.3', False), ('>1.1, <2', '1.1.1', False),
    ('>1.1, <2', '1.2.1', True), ('>1.1, <3', '4.3.2', False), ('>=1.1, <2, !=1.2.3', '1.2.3', False),
    ('>1.1 <2', '1.1.1', False), ('>1.1 <2', '1.2.1', True), ('>1.1    <3', '4.3.2', False),
    ('>=1.1    <2    !=1.2.3', '1.2.3', False), ('>=1.1, <2, !=1.2.3 || > 3', '4.1.2', True),
    ('>=1.1, <2, !=1.2.3 || > 3', '3.1.2', False), ('>=1.1, <2, !=1.2.3 || >= 3', '3.0.0', True),
    ('>=1.1, <2, !=1.2.3 || > 3', '3.0.0', False), ('>=1.1, <2, !=1.2.3 || > 3', '1.2.3', False),
    ('>=1.1 <2 !=1.2.3', '1.2.3', False), ('>=1.1 <2 !=1.2.3 || > 3', '4.1.2', True),
    ('>=1.1 <2 !=1.2.3 || > 3', '3.1.2', False), ('>=1.1 <2 !=1.2.3 || >= 3', '3.0.0', True),
    ('>=1.1 <2 !=1.2.3 || > 3', '3.0.0', False), ('>=1.1 <2 !=1.2.3 || > 3', '1.2.3', False),
    ('> 1.1, <     2', '1.1.1', False), ('>   1.1, <2', '1.2.1', True), ('>1.1, <  3', '4.3.2', False),
    ('>= 1.1, <     2, !=1.2.3', '1.2.3', False), ('> 1.1 < 2', '1.1.1', False), ('>1.1 < 2', '1.2.1', True),
    ('> 1.1    <3', '4.3.2', False), ('>=1.1    < 2    != 1.2.3', '1.2.3', False),
    ('>= 1.1, <2, !=1.2.3 || > 3', '4.1.2', True), ('>= 1.1, <2, != 1.2.3 || > 3', '3.1.2', False),
    ('>= 1.1, <2, != 1.2.3 || >= 3', '3.0.0', True), ('>= 1.1, <2, !=1.2.3 || > 3', '3.0.0', False),
    ('>= 1.1, <2, !=1.2.3 || > 3', '1.2.3', False), ('>= 1.1 <2 != 1.2.3', '1.2.3', False),
    ('>= 1.1 <2 != 1.2.3 || > 3', '4.1.2', True), ('>= 1.1 <2 != 1.2.3 || > 3', '3.1.2', False),
    ('>= 1.1 <2 != 1.2.3 || >= 3', '3.0.0', True), ('>= 1.1 < 2 !=1.2.3 || > 3', '3.0.0', False),
    ('>=1.1 < 2 !=1.2.3 || > 3', '1.2.3', False), ('>= 1.0.0  <= 2.0.0-beta', '1.0.1-beta', True),
    ('>= 1.0.0  <= 2.0.0-beta', '1.0.1', True), ('>= 1.0.0  <= 2.0.0-beta', '3.0.0', False),
    ('>= 1.0.0  <= 2.0.0-beta || > 3', '1.0.1-beta', True), ('>= 1.0.0  <= 2.0.0-beta || > 3', '3.0.1-beta', False),
    ('>= 1.0.0  <= 2.0.0-beta != 1.0.1 || > 3', '1.0.1-beta', True),
    ('>= 1.0.0  <= 2.0.0-beta != 1.0.1-beta || > 3', '1.0.1-beta', False),
    ('>= 1.0.0-0  <= 2.0.0', '1.0.1-beta', True), ('1.1 - 2', '1.1.1', True), ('1.5.0 - 4.5', '3.7.0', True),
    ('1.1-3', '4.3.2', False), ('^1.1', '1.1.1', True), ('^1.1', '4.3.2', False), ('^1.x', '1.1.1', True),
    ('^2.x', '1.1.1', False), ('^1.x', '2.1.1', False), ('^1.x', '1.1.1-beta1', False),
    ('^1.1.2-alpha', '1.2.1-beta1', True), ('^1.2.x-alpha', '1.1.1-beta1', False), ('^0.0.1', '0.0.1', True),
    ('^0.0.1', '0.3.1', False), ('~*', '2.1.1', True), ('~1', '2.1.1', False), ('~1', '1.3.5', True),
    ('~1', '1.4', True), ('~1.x', '2.1.1', False), ('~1.x', '1.3.5', True), ('~1.x', '1.4', True),
    ('~1.1', '1.1.1', True), ('~1.1', '1.1.1-alpha', False), ('~1.1-alpha', '1.1.1-beta', True),
    ('~1.1.1-beta', '1.1.1-alpha', False), ('~1.1.1-beta', '1.1.1', True), ('~1.2.3', '1.2.5', True),
    ('~1.2.3', '1.2.2', False), ('~1.2.3', '1.3.2', False), ('~1.1', '1.2.3', False), ('~1.3', '2.4.5', False),
    ('1.0.0 - 2.0.0 <=2.0.0', '1.5.0', True), ('1.0.0 - 2.0.0, <=2.0.0', '1.5.0', True),
]
NEW_CONSTRAINT = [
    ('>= 1.1', 1, 1, False), ('>40.50.60, < 50.70', 1, 2, False), ('2.0', 1, 1, False),
    ('v2.3.5-20161202202307-sha.e8fc5e5', 1, 1, False), ('v1.2.3-0abc', 1, 1, False),
    ('v1.2.3-beta.01', 1, 1, True), ('>= bar', 0, 0, True), ('BAR >= 1.2.3', 0, 0, True),
    ('>= 1.2.3 < 2.0', 1, 2, False), ('>= 1.2.3 < 2.0 || => 3.0 < 4', 2, 2, False),
    ('>= 1.2.3, < 2.0', 1, 2, False), ('>= 1.2.3, < 2.0 || => 3.0, < 4', 2, 2, False),
    ('3 - 4 || => 3.0, < 4', 2, 2, False), ('12.3.4.1234', 0, 0, True), ('12.23.4.1234', 0, 0, True),
    ('12.3.34.1234', 0, 0, True), ('12.3.34 ~1.2.3', 1, 2, False), ('12.3.34~ 1.2.3', 0, 0, True),
    ('1.0.0 - 2.0.0, <=2.0.0', 1, 3, False),
]
REWRITE_RANGE = [
    ('2 - 3', '>= 2, <= 3 '), ('2 - 3, 2 - 3', '>= 2, <= 3 ,>= 2, <= 3 '),
    ('2 - 3, 4.0.0 - 5.1', '>= 2, <= 3 ,>= 4.0.0, <= 5.1 '), ('2 - 3 4.0.0 - 5.1', '>= 2, <= 3 >= 4.0.0, <= 5.1 '),
    ('1.0.0 - 2.0.0 <=2.0.0', '>= 1.0.0, <= 2.0.0 <=2.0.0'),
]


@pytest.mark.parametrize("constraint, version, allowed", CONSTRAINT_CHECK)
def test_single_constraint(constraint, version, allowed):
    """One constraint, with pre-releases allowed exactly when it names one (an empty one means any)."""
    assert parse_range(constraint or "*").allows(version) is allowed


@pytest.mark.parametrize("constraint, version, allowed", CONSTRAINTS_CHECK)
def test_constraints(constraint, version, allowed):
    assert parse_range(constraint).allows(version) is allowed


@pytest.mark.parametrize("text, ors, count, fails", NEW_CONSTRAINT)
def test_parsing(text, ors, count, fails):
    if fails:
        with pytest.raises(RangeError):
            parse_range(text)
    else:
        parsed = parse_range(text)
        assert (len(parsed.groups), len(parsed.groups[0])) == (ors, count)


@pytest.mark.parametrize("text, rewritten", REWRITE_RANGE)
def test_hyphen_ranges(text, rewritten):
    from progressive_delivery.check.semver_range import _rewrite_ranges

    assert _rewrite_ranges(text) == rewritten


def test_versions_are_read_leniently_and_ordered_by_semver():
    assert str(parse_version("v1.2")) == "1.2.0" and str(parse_version("01.002.3-rc.1+b")) == "1.2.3-rc.1+b"
    assert parse_version("1.0.0-rc.2").compare(parse_version("1.0.0-rc.10")) < 0
    assert parse_version("1.0.0").compare(parse_version("1.0.0-rc.10")) > 0
    with pytest.raises(RangeError):
        parse_version("1.2.3-01")


def test_best_picks_the_highest_allowed_version():
    versions = ["1.44.0", "1.45.0-rc.1", "1.43.2", "not-a-version", "1.31.0+a8d70121"]
    assert best(versions, "*") == "1.44.0"
    assert best(versions, ">=1.45.0-0") == "1.45.0-rc.1"
    assert best(versions, "1.31.0") == "1.31.0+a8d70121"
    assert best(versions, "2.x") is None
