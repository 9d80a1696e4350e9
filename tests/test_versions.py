"""The version policy: which tags each environment's image policy picks, and which version may come next."""

from __future__ import annotations

import pytest
import semver

from progressive_delivery.versions import VersionRefused, check_newer, current_version, parse_release, policy_for

STAGING, PRODUCTION = policy_for("staging"), policy_for("production")


@pytest.mark.parametrize("version", ["1.2.0", "0.1.1", "10.20.30", "1.2.0-rc.1", "1.2.0-rc.12"])
def test_staging_accepts_releases_and_release_candidates(version):
    assert parse_release(version, STAGING) == semver.Version.parse(version)


def test_production_and_any_other_stack_take_releases_only():
    assert PRODUCTION.accepts("1.2.0") and not PRODUCTION.accepts("1.2.0-rc.1")
    assert not policy_for("qa").release_candidates


def test_production_refuses_a_release_candidate_and_says_what_to_do():
    with pytest.raises(VersionRefused) as error:
        parse_release("1.2.0-rc.1", PRODUCTION)
    message = str(error.value)
    assert "production image policy only picks x.y.z" in message
    assert "never the pre-release 1.2.0-rc.1" in message
    assert "release it to staging, then release 1.2.0 here" in message


@pytest.mark.parametrize("version", ["1.2.0-beta.1", "1.2.0-rc", "1.2.0-rc.1.2"])
def test_staging_refuses_other_pre_releases(version):
    with pytest.raises(VersionRefused, match="staging image policy only picks x.y.z and x.y.z-rc.N"):
        parse_release(version, STAGING)


def test_build_metadata_is_refused():
    with pytest.raises(VersionRefused, match="without build metadata"):
        parse_release("1.2.0+build.5", PRODUCTION)


@pytest.mark.parametrize("text", ["1.2", "latest", "", "1.2.0.0", "01.2.0"])
def test_a_version_that_is_not_semver_is_refused(text):
    with pytest.raises(VersionRefused, match="is not a semantic version: give MAJOR.MINOR.PATCH such as 1.2.0"):
        parse_release(text, STAGING)


def test_a_leading_v_gets_a_hint():
    with pytest.raises(VersionRefused, match=r"without the leading 'v'"):
        parse_release("v1.2.0", STAGING)


def test_current_version_is_the_highest_tag_the_policy_picks():
    tags = ["0.1.0", "1.0.0", "latest", "1.1.0-rc.1", "1.0.0-rc.2", "0.9.9", "sha-abc"]
    assert current_version(tags, STAGING) == "1.1.0-rc.1"
    assert current_version(tags, PRODUCTION) == "1.0.0"
    assert current_version(["latest"], STAGING) is None
    assert current_version(["1.10.0", "1.9.0"], PRODUCTION) == "1.10.0"


def test_an_older_or_equal_version_is_refused_with_a_suggestion():
    v = semver.Version.parse
    with pytest.raises(VersionRefused) as error:
        check_newer(v("1.1.0"), "1.2.0", "localhost:5050/echo-version")
    assert "not newer than 1.2.0, the current version in localhost:5050/echo-version" in str(error.value)
    assert "such as 1.2.1" in str(error.value)
    with pytest.raises(VersionRefused, match="it is the current version"):
        check_newer(v("1.2.0"), "1.2.0", "r")
    with pytest.raises(VersionRefused):
        check_newer(v("1.2.0-rc.1"), "1.2.0", "r")


def test_a_newer_version_passes():
    v = semver.Version.parse
    check_newer(v("1.2.1"), "1.2.0", "r")
    check_newer(v("1.2.0"), "1.2.0-rc.3", "r")
    check_newer(v("1.2.0-rc.10"), "1.2.0-rc.9", "r")
    check_newer(v("0.1.0"), None, "r")
