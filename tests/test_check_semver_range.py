"""The ImagePolicy semver range forms the checker understands."""

import pytest

from progressive_delivery.check.semver_range import RangeError, parse_range


@pytest.mark.parametrize("constraint, tag, allowed", [
    (">=0.0.0", "0.1.0", True),
    (">=0.0.0", "0.1.0-rc.1", False),          # no pre-release in the range: pre-releases excluded
    (">=0.0.0-0", "0.1.0-rc.1", True),
    (">=0.0.0-0", "0.1.0", True),
    (">= 1.2.3", "1.2.3", True),
    (">1.2.3", "1.2.3", False),
    ("<1.0.0", "0.9.9", True),
    ("<=1.0.0", "1.0.0", True),
    ("!=1.0.0", "1.0.0", False),
    ("1.0.0", "1.0.0", True),
    ("=1.0.0", "1.0.1", False),
    ("v1.0.0", "v1.0.0", True),
    ("~1.2.3", "1.2.9", True),
    ("~1.2.3", "1.3.0", False),
    ("~1", "1.9.0", True),
    ("^1.2.3", "1.9.0", True),
    ("^1.2.3", "2.0.0", False),
    ("^0.2.3", "0.3.0", False),
    ("^0.0.3", "0.0.4", False),
    ("1.2.x", "1.2.7", True),
    ("1.2.x", "1.3.0", False),
    ("1.2", "1.2.7", True),
    ("*", "3.4.5", True),
    (">1.2", "1.2.9", False),
    (">1.2", "1.3.0", True),
    ("<=1.2", "1.2.9", True),
    (">=1.0, <2.0.0", "1.5.0", True),
    (">=1.0 <2.0.0", "2.0.0", False),
    ("<0.1.0 || >=1.0.0", "0.1.0", False),
    ("<0.1.0 || >=1.0.0", "1.0.0", True),
    (">=0.0.0", "latest", False),
])
def test_range_allows(constraint: str, tag: str, allowed: bool):
    assert parse_range(constraint).allows(tag) is allowed


@pytest.mark.parametrize("constraint", ["1.2 - 1.4", ">=banana", "1.x.3", "", "||", "!=1.2"])
def test_range_not_understood(constraint: str):
    with pytest.raises(RangeError):
        parse_range(constraint)
