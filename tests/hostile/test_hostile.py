"""Each hostile-client scenario against synod (SYNOD_BIN), with the counts of the profile in
SYNOD_HOSTILE_PROFILE (ctest: small; full: `make hostile`). A scenario fails when the
well-behaved client saw a failure or a stall over hostile.LIVENESS_S, lost an acknowledged
write, the server died, its RSS went over the client-memory budget plus a margin, or a
scenario's own check failed (hostile.py)."""

import os

import pytest

import hostile
import suite

# Per scenario, server start and stop included; bounds kazoo calls that never return.
SCENARIO_TIME_LIMIT_S = 300


@pytest.fixture(scope="module")
def prof():
    if not os.environ.get("SYNOD_BIN"):
        pytest.fail("SYNOD_BIN must name the synod binary", pytrace=False)
    return hostile.profile()


@pytest.mark.parametrize("name", [name for name, _ in hostile.SCENARIOS])
def test_scenario(name, prof):
    fn = dict(hostile.SCENARIOS)[name]
    with suite.time_limit(SCENARIO_TIME_LIMIT_S):
        fig = hostile.run_scenario(name, fn, "synod", prof)
    print("\n" + hostile.HEADER + "\n" + fig.row())
    assert not fig.failures, "\n".join(fig.failures)
