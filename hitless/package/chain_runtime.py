"""One more runtime behind an existing chain, as a package component (`hitless:index:ChainRuntime`).

Owns nothing of its own: it validates its inputs as `ChainRuntimeConfig` (the runtime and the
chain's facts, which the chain's stack exports as `chain` and `kong`), then builds
`hitless.components.chain_runtime.ChainRuntime`, the library component a Python stack uses, so a
runtime added from TypeScript, Go or YAML has the very resources the pack judges there.
Deliberately not here: reading the chain's stack (the consuming program's `StackReference`), a
default (an input left unset takes the model's default).

The module does not use `from __future__ import annotations`: Pulumi's schema inference reads
the evaluated annotations of `ChainRuntime.__init__`, of `ChainRuntimeArgs` and of the class
attributes.
"""

from typing import NotRequired, TypedDict

import pulumi

from hitless.components import chain_runtime as library
from hitless.package.chain import PACKAGE_NAME, plain_values
from hitless.package.inputs import ChainFacts, KongFacts, RuntimeConfig

CHAIN_RUNTIME_TYPE = f"{PACKAGE_NAME}:index:ChainRuntime"
"""Type token of `ChainRuntime` (the host accepts only the `index` module and the class name)."""


class ChainRuntimeArgs(TypedDict):
    """Inputs of `ChainRuntime`: the runtime, the chain's stack outputs, the way in."""

    runtime: RuntimeConfig
    """The runtime service to add: the same model as an item of hitless:runtimes."""
    chain: ChainFacts
    """The chain it joins (the chain's stack output `chain`)."""
    kong: KongFacts
    """The chain's Kong (the chain's stack output `kong`)."""
    kubeconfig: pulumi.Input[str]
    """Kubeconfig of the chain's cluster (the chain's stack output `kubeconfig`)."""
    kong_admin_token: NotRequired[pulumi.Input[str]]
    """The chain's Kong control plane Admin API token (a secret); unset: none is sent."""


PLAIN_INPUTS: tuple[str, ...] = ("runtime", "chain", "kong")
"""The inputs validated and judged before any resource: plain values, never Outputs."""


class ChainRuntime(pulumi.ComponentResource):
    """One more runtime service behind an existing hybrid-mode hitless chain."""

    service_host: pulumi.Output[str]
    """In-cluster DNS name of the runtime's Service (Kong's target)."""
    namespace: pulumi.Output[str]
    """Namespace of the runtime's objects."""
    route_paths: pulumi.Output[list[str]]
    """Path prefixes the chain's Kong routes to the runtime."""

    def __init__(
        self, name: str, args: ChainRuntimeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(CHAIN_RUNTIME_TYPE, name, None, opts)
        values = {key: plain_values(args.get(key), key) for key in PLAIN_INPUTS}
        try:
            cfg = library.load_chain_runtime_config(
                values,
                prefix=PACKAGE_NAME,
                source=f"the inputs of {name!r}",
                stack=pulumi.get_stack(),
            )
        except library.ChainRuntimeError as error:
            raise library.ChainRuntimeError(
                f"{CHAIN_RUNTIME_TYPE} {name!r}: its inputs are named hitless:<input> below in "
                f"snake_case (camelCase in TypeScript, Go and YAML).\n{error}"
            ) from None
        service = library.compose_chain_runtime(
            name,
            library.ChainRuntimeArgs(
                config=cfg,
                kubeconfig=args["kubeconfig"],
                kong_admin_token=args.get("kong_admin_token"),
            ),
            pulumi.ResourceOptions(parent=self),
        )
        self.service_host = service.service_host
        self.namespace = service.namespace
        self.route_paths = pulumi.Output.from_input(list(cfg.runtime.kong.route_paths))
        self.register_outputs(
            {
                "service_host": self.service_host,
                "namespace": self.namespace,
                "route_paths": self.route_paths,
            }
        )
