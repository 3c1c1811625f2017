"""Stack config validation: every kind of bad value fails before any resource, and says why.

Each message must name the stack key, the value, the consequence and the fix, so whoever edits
a stack file can repair it without reading the code.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from hitless.components.config import STACK_KEYS, StackConfig, StackConfigError, load_stack_config
from hitless_policy import budget
from tests.conftest import hitless_values

Values = dict[str, Any]


def load_with(change: Callable[[Values], object], stack: str = "dev") -> StackConfig:
    """Load the checked-in stack after `change` edited a deep copy of its values."""
    values = copy.deepcopy(hitless_values(stack))
    change(values)
    return load_stack_config(values, stack)


def error_of(change: Callable[[Values], object], stack: str = "dev") -> str:
    """The StackConfigError message the changed stack fails with."""
    with pytest.raises(StackConfigError) as caught:
        load_with(change, stack)
    return str(caught.value)


def line_for(message: str, key: str) -> str:
    """The message line about `hitless:<key>` (fails when the key is not named)."""
    for line in message.splitlines():
        if f"hitless:{key}" in line:
            return line
    raise AssertionError(f"no line names hitless:{key} in:\n{message}")


class TestCheckedInStacksLoad:
    """The stacks in the repository must load, or `make preview` fails on a fresh clone."""

    def test_stack_loads(self, stack_name: str) -> None:
        cfg = load_stack_config(hitless_values(stack_name), stack_name)
        assert cfg.runtimes[0].image.endswith(":1.8.2")

    def test_prod_is_regional(self, prod_config: StackConfig) -> None:
        assert prod_config.platform.regional
        assert prod_config.edge.mig.max_surge_fixed >= len(prod_config.platform.zones)


class TestUnknownKey:
    """A misspelt key would be ignored silently, leaving the setting meant for it unapplied."""

    def test_top_level_key(self) -> None:
        message = error_of(lambda v: v.update(runtme={"replicas": 3}))
        assert "hitless:runtme" in message
        assert "silently ignored" in message
        assert "Fix: did you mean hitless:runtimes? use only" in message
        assert '{"replicas": 3}' in message
        for key in STACK_KEYS:
            assert f"hitless:{key}" in message

    def test_nested_key(self) -> None:
        line = line_for(
            error_of(lambda v: v["runtimes"][0].update(replica=3)), "runtimes.0.replica"
        )
        assert "hitless:runtimes.0.replica = 3" in line
        assert "unknown key" in line
        assert "silently ignored" in line
        assert "Fix: remove it or correct its spelling" in line

    def test_deeply_nested_key(self) -> None:
        line = line_for(
            error_of(lambda v: v["edge"]["mig"].update(max_surge=2)), "edge.mig.max_surge"
        )
        assert "= 2" in line
        assert "unknown key" in line


class TestWrongType:
    """A value of the wrong type cannot be rendered into the resources it configures."""

    def test_string_for_int(self) -> None:
        line = line_for(
            error_of(lambda v: v["runtimes"][0].update(replicas="three")), "runtimes.0.replicas"
        )
        assert 'hitless:runtimes.0.replicas = "three"' in line
        assert "valid integer" in line
        assert "so one can drain while one serves" in line
        assert "Fix: set hitless:runtimes.0.replicas" in line
        assert "stacks/Pulumi.dev.yaml" in line

    def test_bad_enum(self) -> None:
        message = error_of(lambda v: v["cluster"]["node_pools"][0].update(strategy="RECREATE"))
        line = line_for(message, "cluster.node_pools.0.strategy")
        assert '"RECREATE"' in line
        assert "SURGE" in line
        assert "BLUE_GREEN" in line
        assert "Fix:" in line


class TestOutOfRange:
    """Bounds on single values: one replica cannot drain while another serves."""

    def test_replicas_below_two(self) -> None:
        line = line_for(
            error_of(lambda v: v["runtimes"][0].update(replicas=1)), "runtimes.0.replicas"
        )
        assert "hitless:runtimes.0.replicas = 1" in line
        assert "greater than or equal to 2" in line
        assert "so one can drain while one serves" in line
        assert "Fix:" in line

    def test_drain_above_gcp_limit(self) -> None:
        line = line_for(
            error_of(lambda v: v["edge"].update(connection_draining_timeout_sec=4000)),
            "edge.connection_draining_timeout_sec",
        )
        assert "= 4000" in line
        assert "less than or equal to 3600" in line
        assert "Fix:" in line


class TestPreStopShorterThanGrace:
    """A preStop as long as the grace period leaves the app no time at all to drain: the grace
    bound (preStop + longest request + margin) refuses it, naming the grace it needs."""

    def test_prestop_not_below_grace(self) -> None:
        message = error_of(
            lambda v: v["runtimes"][0].update(prestop_seconds=80, termination_grace_seconds=75)
        )
        line = line_for(message, "runtimes.0.termination_grace_seconds")
        assert "hitless:runtimes.0.termination_grace_seconds = 75" in line
        assert "preStop 80 + longest request of D 30.4 + margin 15" in line
        assert "killed mid-request" in line
        assert "Fix: raise it to >= 126" in line


class TestGraceCoversDrain:
    """Grace includes preStop: below preStop + longest request + margin, requests are cut."""

    def test_grace_too_short(self, dev_config: StackConfig) -> None:
        rt = dev_config.runtimes[0]
        need = budget.required_grace_seconds(
            rt.prestop_seconds,
            dev_config.longest_requests().d,
            dev_config.thresholds.margin_seconds,
        )
        short = int(need) - 1
        line = line_for(
            error_of(lambda v: v["runtimes"][0].update(termination_grace_seconds=short)),
            "runtimes.0.termination_grace_seconds",
        )
        assert f"hitless:runtimes.0.termination_grace_seconds = {short}" in line
        assert f"preStop {rt.prestop_seconds}" in line
        assert "killed mid-request" in line
        assert re.search(r"Fix: raise it to >= \d+", line)

    def test_prestop_below_propagation(self) -> None:
        message = error_of(
            lambda v: v.update(profile={**v["profile"], "endpoint_propagation_seconds": 20})
        )
        line = line_for(message, "runtimes.0.prestop_seconds")
        assert "= 15" in line
        assert "(must be >= 20: profile.endpoint_propagation_seconds)" in line
        assert "connection refused" in line
        assert "Fix: raise it to >= 20" in line


class TestTimeoutOrdering:
    """An outer tier that gives up before the inner one answers 504 for a request in work."""

    def test_a_read_timeout_below_kong_worst_case(self) -> None:
        line = line_for(
            error_of(lambda v: v["edge"].update(proxy_read_timeout_seconds=50)),
            "edge.proxy_read_timeout_seconds",
        )
        assert "= 50" in line
        assert "A answers 504" in line
        assert "(connect 2000 ms + read 50000 ms) x (1 + 2 retries)" in line
        assert "Fix: raise it to >= 157" in line

    def test_lb_timeout_below_a_response_time(self) -> None:
        line = line_for(
            error_of(lambda v: v["edge"].update(backend_timeout_sec=100)),
            "edge.backend_timeout_sec",
        )
        assert "= 100" in line
        assert "gives up on a request before A does" in line
        assert "(must be > 160.4: A forwarding the body 0.4 + A proxy_read_timeout 160" in line
        assert "Fix: raise it to >= 161" in line

    def test_kong_read_below_runtime_timeout(self) -> None:
        line = line_for(
            error_of(
                lambda v: v["runtimes"][0].setdefault("kong", {}).update(read_timeout_ms=40000)
            ),
            "runtimes.0.kong.read_timeout_ms",
        )
        assert "= 40000" in line
        assert "Kong answers 504" in line
        assert "Fix: raise it to >= 45001" in line


class TestKeepaliveOrdering:
    """The side that reuses idle connections must drop them first, or a POST fails with 502."""

    def test_a_below_gfe(self) -> None:
        line = line_for(
            error_of(lambda v: v["edge"].update(keepalive_timeout_seconds=500)),
            "edge.keepalive_timeout_seconds",
        )
        assert "= 500" in line
        assert "must be > 600" in line
        assert "502" in line
        assert "Fix: raise it to >= 601" in line

    def test_a_upstream_not_below_kong(self) -> None:
        line = line_for(
            error_of(lambda v: v["edge"].update(upstream_keepalive_timeout_seconds=80)),
            "edge.upstream_keepalive_timeout_seconds",
        )
        assert "= 80" in line
        assert "never retried" in line
        assert "Fix: lower it to <= 74" in line

    def test_kong_upstream_not_below_runtime(self) -> None:
        line = line_for(
            error_of(lambda v: v["kong"].update(upstream_keepalive_idle_timeout_seconds=90)),
            "kong.upstream_keepalive_idle_timeout_seconds",
        )
        assert "= 90" in line
        assert "502" in line
        assert "Fix: lower it to <= 74" in line


class TestBodySize:
    """A body limit below the promised upload answers 413 to it."""

    def test_edge_limit(self) -> None:
        line = line_for(
            error_of(lambda v: v["edge"].update(client_max_body_mib=10)),
            "edge.client_max_body_mib",
        )
        assert "= 10" in line
        assert "413" in line
        assert "must be >= 50: profile.max_body_mib" in line
        assert "Fix: raise it to >= 50" in line

    def test_runtime_limit(self) -> None:
        line = line_for(
            error_of(lambda v: v["runtimes"][0].update(max_body_mib=20)), "runtimes.0.max_body_mib"
        )
        assert "= 20" in line
        assert "refuses the largest upload (must be >= 50" in line
        assert "Fix: raise it to >= 50" in line


class TestMigSurgeCoversZones:
    """A regional MIG surges per zone: a surge below the zone count is rejected by GCP."""

    def test_surge_below_zones(self) -> None:
        message = error_of(lambda v: v["edge"]["mig"].update(max_surge_fixed=2), stack="prod")
        line = line_for(message, "edge.mig.max_surge_fixed")
        assert "= 2" in line
        assert "must be >= 3: 3 zones" in line
        assert "Fix: raise it to >= 3" in line


class TestIlbAddressInSubnet:
    """A reserved internal address outside its subnet cannot be created."""

    def test_b_address_outside_b_subnet(self) -> None:
        line = line_for(
            error_of(lambda v: v["platform"].update(network={"b_ilb_address": "10.99.0.1"})),
            "platform.network.b_ilb_address",
        )
        assert "= 10.99.0.1" in line
        assert "outside b_cidr 10.10.1.0/24" in line
        assert "Fix: pick an address inside 10.10.1.0/24" in line

    def test_kong_address_outside_gke_subnet(self) -> None:
        line = line_for(
            error_of(lambda v: v["platform"].update(network={"kong_ilb_address": "10.10.0.5"})),
            "platform.network.kong_ilb_address",
        )
        assert "= 10.10.0.5" in line
        assert "outside gke_nodes_cidr" in line
        assert "Fix: pick an address inside" in line


class TestMaintenanceWindow:
    """GKE rejects windows under 48 h per 32 days or in blocks shorter than 4 h."""

    def test_block_too_short(self) -> None:
        line = line_for(
            error_of(lambda v: v["cluster"].update(maintenance={"duration_hours": 3})),
            "cluster",
        )
        assert "hitless:cluster.maintenance.duration_hours = 3" in line
        assert "GKE does not count shorter blocks" in line
        assert "Fix: raise it to >= 4" in line

    def test_judged_on_the_stack_thresholds(self) -> None:
        values = hitless_values("dev")
        values["cluster"] = {
            **values["cluster"],
            "maintenance": {"duration_hours": 4, "days": ["SA"]},
        }
        values["thresholds"] = {"min_maintenance_hours_per_32_days": 16}
        assert load_stack_config(values, "dev").cluster.maintenance.days == ["SA"]

    def test_too_few_hours(self) -> None:
        line = line_for(
            error_of(
                lambda v: v["cluster"].update(maintenance={"duration_hours": 4, "days": ["SA"]})
            ),
            "cluster",
        )
        assert "hitless:cluster.maintenance.duration_hours = 4" in line
        assert "48 / 4 blocks per 32 days" in line
        assert "GKE rejects it" in line
        assert "Fix: raise it to >= 12 or add days" in line


class TestRequiredValue:
    """The runtime's image has no sensible default: a stack must name it."""

    def test_image_missing(self) -> None:
        line = line_for(error_of(lambda v: v["runtimes"][0].pop("image")), "runtimes.0.image")
        assert "is required and missing" in line
        assert "container image" in line
        assert "Fix: set it in stacks/Pulumi.dev.yaml" in line

    def test_key_missing(self) -> None:
        line = line_for(error_of(lambda v: v.pop("runtimes")), "runtimes")
        assert "is required and missing" in line
        assert "Fix: set it in stacks/Pulumi.dev.yaml" in line


class TestEveryProblemListed:
    """One run lists every problem, so a stack is fixed in one edit, not one error at a time."""

    def test_two_problems(self) -> None:
        def change(v: Values) -> None:
            v["edge"].update(client_max_body_mib=10)
            v["runtimes"][0].setdefault("kong", {}).update(read_timeout_ms=40000)

        message = error_of(change)
        line_for(message, "edge.client_max_body_mib")
        line_for(message, "runtimes.0.kong.read_timeout_ms")


class TestAutohealingCoversBoot:
    """Autohealing that judges an instance before it booted recreates it, in a loop; the bound is
    the pack's `mig_boot_seconds`, the same number the policy rule uses."""

    def test_delay_below_boot(self) -> None:
        values = hitless_values("dev")
        values["relay"] = {"mig": {"autohealing_initial_delay_sec": 60, "max_surge_fixed": 1}}
        with pytest.raises(StackConfigError) as caught:
            load_stack_config(values, "dev")
        line = next(
            line
            for line in str(caught.value).splitlines()
            if "relay.mig.autohealing_initial_delay_sec" in line
        )
        assert "hitless:relay.mig.autohealing_initial_delay_sec = 60" in line
        assert "still booting, in a loop (must be >= 120: thresholds.mig_boot_seconds" in line
        assert "Fix: raise it to >= 120" in line


class TestPooledConnectionsFitInRelayDrain:
    """A pooled A->B connection can carry a request the internal LB's lag + keepalive_time +
    keepalive_timeout + B's longest request after B starts draining; a longer span cuts it when
    B is deleted."""

    def test_span_longer_than_drain(self) -> None:
        values = hitless_values("dev")
        values["edge"] = {**values["edge"], "upstream_keepalive_time_seconds": 90}
        with pytest.raises(StackConfigError) as caught:
            load_stack_config(values, "dev")
        line = next(
            line
            for line in str(caught.value).splitlines()
            if "edge.upstream_keepalive_time_seconds" in line
        )
        assert "hitless:edge.upstream_keepalive_time_seconds = 90" in line
        assert "may still carry a request when B's drain ends" in line
        assert (
            "B's drain 150 - (LB lag 30 + keepalive_timeout 50 + B's longest request 30.8)" in line
        )
        assert (
            "Fix: lower it to <= 39 or raise B's connection draining "
            "(hitless:relay.connection_draining_timeout_sec)" in line
        )


class TestRuntimeServices:
    """A chain carries a list of runtime services; two of them must not share what each owns,
    and a stack of the one-runtime layout is refused with the move that replaces it."""

    def test_old_runtime_key_names_the_migration(self) -> None:
        def change(v: Values) -> None:
            v["runtime"] = v.pop("runtimes")[0]

        line = line_for(error_of(change), "runtime")
        assert "hitless:runtime = {" in line
        assert "replaced by hitless:runtimes" in line
        assert "Fix: rename the key to hitless:runtimes" in line

    def test_moved_kong_keys_name_their_new_place(self) -> None:
        line = line_for(error_of(lambda v: v["kong"].update(read_timeout_ms=40000)), "kong")
        assert "read_timeout_ms" in line
        assert "hitless:runtimes[].kong" in line

    def test_duplicate_name(self) -> None:
        def change(v: Values) -> None:
            v["runtimes"].append({**v["runtimes"][0], "namespace": "other"})

        line = line_for(error_of(change), "runtimes.1.name")
        assert "runtime 0 has it too" in line
        assert "Fix: give each runtime its own name" in line

    def test_duplicate_route_path(self) -> None:
        def change(v: Values) -> None:
            v["runtimes"].append({**v["runtimes"][0], "name": "api", "namespace": "api"})

        line = line_for(error_of(change), "runtimes.1.kong.route_paths")
        assert '"/"' in line
        assert "Kong sends its requests to one of them only" in line

    def test_runtime_in_kongs_namespace(self) -> None:
        line = line_for(
            error_of(lambda v: v["runtimes"][0].update(namespace="kong")), "runtimes.0.namespace"
        )
        assert "it is Kong's namespace" in line

    def test_unknown_runtime_name(self, prod_config: StackConfig) -> None:
        with pytest.raises(KeyError, match="known: rt, quote"):
            prod_config.runtime_named("upload")

    def test_one_path_narrows_to_that_runtime(self, prod_config: StackConfig) -> None:
        quote = prod_config.one_path("quote")
        assert [rt.name for rt in quote.runtimes] == ["quote"]
        assert quote.profile.max_body_mib == 1
        assert quote.profile.rt_max_processing_seconds == 5
        assert quote.longest_requests() == prod_config.longest_requests(
            prod_config.runtime_named("quote")
        )


class TestPerPathBounds:
    """A runtime's own settings are bounded by its own path's promise; the tiers every path
    crosses by the longest over the paths."""

    def test_short_api_grace_from_its_own_path(self, prod_config: StackConfig) -> None:
        quote, rt = prod_config.runtime_named("quote"), prod_config.runtime_named("rt")
        assert prod_config.longest_requests(quote).d < prod_config.longest_requests(rt).d
        assert quote.termination_grace_seconds < rt.termination_grace_seconds

    def test_shared_tiers_carry_the_longest_path(self, prod_config: StackConfig) -> None:
        longest = prod_config.longest_requests()
        for tier in "abcd":
            assert longest.for_tier(tier) == max(
                prod_config.longest_requests(rt).for_tier(tier) for rt in prod_config.runtimes
            )

    def test_short_api_timeout_refused_on_its_path_only(self) -> None:
        values = hitless_values("prod")
        values["runtimes"][1]["kong"]["read_timeout_ms"] = 8000  # == its 8 s request timeout
        with pytest.raises(StackConfigError) as caught:
            load_stack_config(values, "prod")
        line = line_for(str(caught.value), "runtimes.1.kong.read_timeout_ms")
        assert "runtime 'quote'" in line
        assert "runtimes.0.kong" not in str(caught.value)

    def test_upload_body_limit_refused_where_the_short_api_accepts_it(self) -> None:
        values = hitless_values("prod")
        values["runtimes"][0]["max_body_mib"] = 2  # the short API's limit; the upload needs 50
        with pytest.raises(StackConfigError) as caught:
            load_stack_config(values, "prod")
        line = line_for(str(caught.value), "runtimes.0.max_body_mib")
        assert "runtime 'rt'" in line
        assert "runtimes.1.max_body_mib" not in str(caught.value)
