"""The whole chain as one component of the hitless component package (`hitless:index:Chain`).

Owns nothing of its own: it validates its inputs as the stack config model
(`hitless.components.config.StackConfig`), then builds the chain with
`hitless.components.chain.compose_chain`, the same function the hitless program calls, so a
chain built from TypeScript, Go or YAML has the very resources `make preview` judges.
Deliberately not here: a default (an input left unset takes the model's default), a wiring
decision (`components/chain.py`), a provider (the stack's default GCP provider and the
cluster's Kubernetes provider are used).

The module does not use `from __future__ import annotations`: Pulumi's schema inference reads
the evaluated annotations of `Chain.__init__` and of the class attributes.
"""

import re
from collections.abc import Mapping
from typing import Any

import pulumi

from hitless.components.chain import compose_chain
from hitless.components.config import StackConfigError, load_stack_config
from hitless.package.inputs import StackConfig

PACKAGE_NAME = "hitless"
"""The package's name: the first part of its type tokens and of `pulumi package add`'s SDK."""
CHAIN_TYPE = f"{PACKAGE_NAME}:index:Chain"
"""Type token of `Chain`. The component provider host accepts only the `index` module and the
class's own name (`pulumi.provider.experimental.component.ComponentProvider.construct`)."""


class ChainInputError(ValueError):
    """Inputs that would not give a hitless chain; the message lists every problem."""


def plain_values(value: Any, path: str) -> Any:
    """`value` as plain data, refusing Outputs: the model validates numbers before any resource."""
    if isinstance(value, pulumi.Output):
        raise ChainInputError(
            f"input {path} is an Output: the chain's settings are validated and judged before "
            "any resource is registered, so they must be known during a preview. Fix: pass a "
            "plain value (a literal or stack config), not another resource's output."
        )
    if isinstance(value, Mapping):
        return {key: plain_values(item, f"{path}.{key}") for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_values(item, f"{path}[{index}]") for index, item in enumerate(value)]
    return value


def _input_error(name: str, text: str) -> str:
    """The stack config's error text, told of this component's inputs instead of a stack file."""
    text = re.sub(r"stacks/Pulumi\.[^ ]*\.yaml", f"the inputs of {name!r}", text)
    return (
        f"{CHAIN_TYPE} {name!r}: its inputs are the hitless stack keys, named hitless:<input> "
        f"below in snake_case (camelCase in TypeScript, Go and YAML).\n{text}"
    )


class Chain(pulumi.ComponentResource):
    """The hitless chain A -> B -> C -> D with its LBs, network, cluster, from the stack keys."""

    edge_address: pulumi.Output[str]
    """The external Application LB's address (tier A's public entry)."""
    relay_address: pulumi.Output[str]
    """Tier B's internal passthrough NLB address."""
    kong_address: pulumi.Output[str]
    """Kong's internal LoadBalancer Service address (tier C)."""
    kong_namespace: pulumi.Output[str]
    """Namespace of Kong's pods, which the runtimes' NetworkPolicies admit."""
    cluster_name: pulumi.Output[str]
    """The GKE cluster's name."""
    cluster_endpoint: pulumi.Output[str]
    """The GKE control plane's endpoint IP."""
    network_self_link: pulumi.Output[str]
    """The chain's VPC network."""

    def __init__(
        self, name: str, args: StackConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(CHAIN_TYPE, name, None, opts)
        try:
            values = {key: plain_values(value, key) for key, value in args.items()}
            cfg = load_stack_config(values, stack=pulumi.get_stack())
        except StackConfigError as error:
            raise ChainInputError(_input_error(name, str(error))) from None
        chain = compose_chain(cfg, pulumi.ResourceOptions(parent=self))
        self.edge_address = chain.edge_lb.address
        self.relay_address = chain.relay_lb.address
        self.kong_address = chain.kong.service_address
        self.kong_namespace = chain.kong.namespace
        self.cluster_name = chain.cluster.cluster_name
        self.cluster_endpoint = chain.cluster.endpoint
        self.network_self_link = chain.network.network_self_link
        self.register_outputs(
            {
                "edge_address": self.edge_address,
                "relay_address": self.relay_address,
                "kong_address": self.kong_address,
                "kong_namespace": self.kong_namespace,
                "cluster_name": self.cluster_name,
                "cluster_endpoint": self.cluster_endpoint,
                "network_self_link": self.network_self_link,
            }
        )
