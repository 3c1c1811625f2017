"""The hitless Pulumi program: validate the stack config once, then compose the chain.

A stack whose numbers cannot give a hitless rollout fails here, with the key, the value, the
consequence and the fix, before any resource is registered. The wiring decisions are recorded in
`components/chain.py`.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime import config as pulumi_config

from components.chain import compose_chain
from components.config import PROJECT, SECRET_STACK_KEYS, STACK_KEYS, load_stack_config


def _stack_values() -> dict[str, Any]:
    """Every `hitless:*` key of the stack, parsed from its structured (JSON) value."""
    config = pulumi.Config(PROJECT)
    present = {key: config.get_object(key) for key in STACK_KEYS}
    # Every key the stack sets: the engine passes config in PULUMI_CONFIG, mocks set it directly.
    everything = {**pulumi.runtime.get_config_env(), **pulumi_config.CONFIG.get()}
    unknown = {
        full.split(":", 1)[1]: value
        for full, value in everything.items()
        if full.startswith(f"{PROJECT}:")
        and full.split(":", 1)[1] not in (*STACK_KEYS, *SECRET_STACK_KEYS)
    }
    return {key: value for key, value in {**present, **unknown}.items() if value is not None}


def main() -> None:
    """Validate the stack config, compose the chain, export what other stacks need."""
    cfg = load_stack_config(_stack_values(), pulumi.get_stack())
    chain = compose_chain(cfg)
    pulumi.export("edge_address", chain.edge_lb.address)
    pulumi.export("relay_address", chain.relay_lb.address)
    pulumi.export("kong_address", chain.kong.service_address)
    pulumi.export("runtime_host", chain.runtime.service_host)
    pulumi.export("cluster_name", chain.cluster.cluster_name)
    pulumi.export(
        "longest_request_seconds",
        {tier: round(cfg.longest_requests().for_tier(tier), 1) for tier in ("a", "b", "c", "d")},
    )


main()
