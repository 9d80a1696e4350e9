"""The one reading of a Flagger Canary's status, shared by `status` and `release --watch`."""

from __future__ import annotations

import pytest

from progressive_delivery.canary import read_canary


def test_status_fields_and_target():
    canary = read_canary({"spec": {"targetRef": {"kind": "Deployment", "name": "web"}},
                          "status": {"phase": "Progressing", "canaryWeight": 40, "failedChecks": 1}})
    assert (canary.phase, canary.weight, canary.failed_checks) == ("Progressing", 40, 1)
    assert (canary.target, canary.primary) == ("web", "web-primary")
    assert canary.progressing and not canary.settled and not canary.rolled_back


def test_a_new_canary_is_initializing_and_targets_echo_version():
    canary = read_canary({})
    assert (canary.phase, canary.weight, canary.failed_checks, canary.target) == \
        ("Initializing", 0, 0, "echo-version")
    assert read_canary({"status": {"canaryWeight": "x"}}).weight == 0


@pytest.mark.parametrize("phase,settled,progressing,rolled_back", [
    ("Initialized", True, False, False), ("Succeeded", True, False, False),
    ("Progressing", False, True, False), ("WaitingPromotion", False, True, False),
    ("Promoting", False, True, False), ("Finalising", False, True, False),
    ("Failed", False, False, True), ("Waiting", False, False, False), ("Terminating", False, False, False),
])
def test_phases(phase, settled, progressing, rolled_back):
    canary = read_canary({"status": {"phase": phase}})
    assert (canary.settled, canary.progressing, canary.rolled_back) == (settled, progressing, rolled_back)
