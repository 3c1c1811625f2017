"""The hitless Pulumi program: validate the stack config once, then compose the chain.

A stack whose numbers cannot give a hitless rollout fails here, with the key, the value, the
consequence and the fix, before any resource is registered. The wiring decisions are recorded in
`components/chain.py`.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi.runtime import config as pulumi_config

from hitless.components.chain import (
    chain_reference,
    chain_runtime_inputs,
    compose_chain,
    kong_reference,
)
from hitless.components.config import (
    PROJECT,
    SECRET_STACK_KEYS,
    load_provider_config,
    load_stack_config,
)


def _structured(raw: object) -> Any:
    """A key's value as the model sees it: the engine passes objects as JSON text.

    Text that is not JSON stays a string, so the model names the key that expected an object
    (`pulumi.Config.get_object` would raise a bare ConfigTypeError instead).
    """
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw
    except RecursionError:
        return "<a value nested too deeply to read>"


def _namespace_values(namespace: str) -> dict[str, Any]:
    """Every `<namespace>:*` key of the stack, keyed without the prefix, secrets left out."""
    # The engine passes config in PULUMI_CONFIG; the mock runtime sets it directly.
    everything = {**pulumi.runtime.get_config_env(), **pulumi_config.CONFIG.get()}
    out: dict[str, Any] = {}
    for full, raw in everything.items():
        prefix, _, key = full.partition(":")
        if prefix == namespace and key not in SECRET_STACK_KEYS:
            out[key] = _structured(raw)
    return out


def main() -> None:
    """Validate the stack config, compose the chain, export what other stacks need."""
    stack = pulumi.get_stack()
    load_provider_config(_namespace_values("gcp"), stack)
    cfg = load_stack_config(_namespace_values(PROJECT), stack)
    chain = compose_chain(cfg)
    pulumi.export("edge_address", chain.edge_lb.address)
    pulumi.export("relay_address", chain.relay_lb.address)
    pulumi.export("kong_address", chain.kong.service_address)
    pulumi.export("runtime_hosts", {name: rt.service_host for name, rt in chain.runtimes.items()})
    pulumi.export("cluster_name", chain.cluster.cluster_name)
    # What a stack adding a runtime service behind this chain reads by StackReference
    # (examples/extra-runtime): the cluster, the chain's identity and promise, Kong's mode.
    pulumi.export("kubeconfig", chain.cluster.kubeconfig)
    pulumi.export("chain", chain_reference(cfg))
    pulumi.export("kong", kong_reference(cfg))
    # The same two for the component package's ChainRuntime (camelCase, docs/package.md).
    pulumi.export("chain_runtime_inputs", chain_runtime_inputs(cfg))
    pulumi.export(
        "longest_request_seconds",
        {
            rt.name: {
                tier: round(cfg.longest_requests(rt).for_tier(tier), 1)
                for tier in ("a", "b", "c", "d")
            }
            for rt in cfg.runtimes
        },
    )


main()
