"""Property tests of the budget formulas (hitless_policy.budget)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hitless_policy import budget
from hitless_policy.profile import TrafficProfile

TIERS = ("a", "b", "c", "d")

bodies = st.floats(min_value=0.1, max_value=1024)
bandwidths = st.floats(min_value=0.5, max_value=10000)
flags = st.booleans()


def _profile(body: float, client: float, internal: float = 1000) -> TrafficProfile:
    return TrafficProfile(max_body_mib=body, min_client_mbps=client, internal_mbps=internal)


class TestLongestRequest:
    """Each tier's longest request grows with the body and shrinks with bandwidth."""

    @given(bodies, bodies, bandwidths, flags, flags)
    def test_monotone_in_body(
        self, b1: float, b2: float, mbps: float, at_a: bool, at_c: bool
    ) -> None:
        small, big = sorted((b1, b2))
        lo = budget.longest_requests(
            _profile(small, mbps), buffering_at_a=at_a, buffering_at_c=at_c
        )
        hi = budget.longest_requests(_profile(big, mbps), buffering_at_a=at_a, buffering_at_c=at_c)
        for tier in TIERS:
            assert lo.for_tier(tier) <= hi.for_tier(tier) + 1e-9

    @given(bodies, bandwidths, bandwidths, flags, flags)
    def test_inverse_in_bandwidth(
        self, body: float, m1: float, m2: float, at_a: bool, at_c: bool
    ) -> None:
        slow, fast = sorted((m1, m2))
        for (c1, i1), (c2, i2) in (((slow, 1000.0), (fast, 1000.0)), ((50.0, slow), (50.0, fast))):
            lo = budget.longest_requests(
                _profile(body, c2, i2), buffering_at_a=at_a, buffering_at_c=at_c
            )
            hi = budget.longest_requests(
                _profile(body, c1, i1), buffering_at_a=at_a, buffering_at_c=at_c
            )
            for tier in TIERS:
                assert lo.for_tier(tier) <= hi.for_tier(tier) + 1e-9

    @given(bodies, bandwidths, bandwidths, flags)
    def test_buffering_at_a_never_lengthens_inner(
        self, body: float, client: float, internal: float, at_c: bool
    ) -> None:
        profile = _profile(body, client, internal)
        on = budget.longest_requests(profile, buffering_at_a=True, buffering_at_c=at_c)
        off = budget.longest_requests(profile, buffering_at_a=False, buffering_at_c=at_c)
        for tier in ("b", "c", "d"):
            assert on.for_tier(tier) <= off.for_tier(tier) + 1e-9

    def test_default_profile_numbers(self) -> None:
        longest = budget.longest_requests(
            TrafficProfile(), buffering_at_a=True, buffering_at_c=True
        )
        assert round(longest.client_upload, 1) == 52.4
        assert round(longest.a, 1) == 83.3
        assert round(longest.d, 1) == 30.4


def _oracle(replicas: int, value: int | str, *, round_up: bool) -> int:
    """Integer arithmetic, as GetScaledValueFromIntOrPercent does it."""
    if isinstance(value, int):
        return value
    percent = int(value.rstrip("%"))
    product = percent * replicas
    return (product + 99) // 100 if round_up else product // 100


int_or_percent = st.one_of(
    st.integers(min_value=0, max_value=20),
    st.integers(min_value=0, max_value=100).map(lambda p: f"{p}%"),
)


class TestRollingUpdateRounding:
    """maxSurge rounds up, maxUnavailable down, both zero -> unavailable 1 (ResolveFenceposts)."""

    @given(st.integers(min_value=0, max_value=500), int_or_percent, int_or_percent)
    def test_matches_kubernetes(
        self, replicas: int, surge: int | str, unavailable: int | str
    ) -> None:
        want_surge = _oracle(replicas, surge, round_up=True)
        want_unavailable = _oracle(replicas, unavailable, round_up=False)
        if want_surge == 0 and want_unavailable == 0:
            want_unavailable = 1
        assert budget.resolve_rolling_update(replicas, surge, unavailable) == (
            want_surge,
            want_unavailable,
        )

    def test_defaults_at_two_replicas(self) -> None:
        assert budget.resolve_rolling_update(2, None, None) == (1, 0)


class TestPdb:
    """Allowed disruptions: maxUnavailable (percent up), or replicas - minAvailable, never < 0."""

    @given(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=100))
    def test_max_unavailable_percent(self, replicas: int, percent: int) -> None:
        allowed = budget.pdb_allowed_disruptions(replicas, None, f"{percent}%")
        assert allowed == (percent * replicas + 99) // 100

    @given(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=300))
    def test_min_available(self, replicas: int, minimum: int) -> None:
        assert budget.pdb_allowed_disruptions(replicas, minimum, None) == max(0, replicas - minimum)

    def test_zero_disruption(self) -> None:
        assert budget.pdb_allowed_disruptions(2, "100%", None) == 0
        assert budget.pdb_allowed_disruptions(2, None, 0) == 0


class TestMaintenance:
    """Availability per 32 days: daily windows count 32 times, weekly ones four weeks."""

    @given(st.floats(min_value=0, max_value=24), st.integers(min_value=1, max_value=7))
    def test_weekly_never_exceeds_daily(self, hours: float, days: int) -> None:
        weekly = budget.maintenance_hours_per_32_days(hours, days)
        assert weekly == 4 * days * hours
        assert weekly <= budget.maintenance_hours_per_32_days(hours, None) + 1e-9

    def test_weekend_blocks(self) -> None:
        assert budget.maintenance_hours_per_32_days(8, 2) == 64
        assert budget.maintenance_hours_per_32_days(4, None) == 128
