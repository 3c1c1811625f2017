"""One more runtime service behind an existing hitless chain, as another team's stack adds it.

The chain (the `hitless` program's stack) owns A, B, Kong and its own runtimes. This stack reads
the chain's outputs by `pulumi.StackReference` and adds one runtime service with the library's
`ChainRuntime` component (`hitless.components.chain_runtime`): the runtime on the chain's
cluster, a NetworkPolicy in Kong's namespace, and its Kong entities through the chain's control
plane. The component's config validates the runtime against the chain before any resource is
registered: a DB-less chain, a path longer than the chain's tiers carry or a bad runtime value
stops the stack with exit code 2, the input, the consequence and the fix.
"""

from __future__ import annotations

import sys

import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hitless.components.chain_runtime import (
    ChainRuntime,
    ChainRuntimeArgs,
    ChainRuntimeConfig,
    ChainRuntimeError,
    chain_outputs,
    load_chain_runtime_config,
)
from hitless.components.config import format_validation_error

PROJECT = "extra-runtime"
"""This project's name: the namespace of its stack keys."""
BAD_INPUT = 2
"""Exit code of a stack that cannot be built as described (hitless's exit-code contract)."""


class ExtraRuntimeConfig(BaseModel):
    """This stack's own config: which chain to join (the runtime is `ChainRuntimeConfig`'s)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chain_stack: str = Field(
        pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
        description="`<org>/<project>/<stack>` of the chain's stack (its StackReference).",
    )


def build() -> ChainRuntime:
    """Read the chain's outputs, validate the runtime against them, add it behind the chain."""
    config = pulumi.Config(PROJECT)
    stack = pulumi.get_stack()
    try:
        own = ExtraRuntimeConfig.model_validate({"chain_stack": config.get("chain_stack")})
    except ValidationError as error:
        text = format_validation_error(
            error, stack, model=ExtraRuntimeConfig, prefix=PROJECT, source=f"Pulumi.{stack}.yaml"
        )
        raise ChainRuntimeError(text) from None
    ref = pulumi.StackReference(f"{PROJECT}-chain", stack_name=own.chain_stack)
    cfg: ChainRuntimeConfig = load_chain_runtime_config(
        {"runtime": config.get_object("runtime"), **chain_outputs(ref)},
        prefix=PROJECT,
        source=f"Pulumi.{stack}.yaml (runtime) or the chain's stack {own.chain_stack}",
        stack=stack,
    )
    return ChainRuntime(
        f"{cfg.chain.name}-{cfg.runtime.name}",
        ChainRuntimeArgs(
            config=cfg,
            kubeconfig=ref.require_output("kubeconfig"),
            kong_admin_token=config.get_secret("kongAdminToken"),
        ),
    )


def main() -> None:
    """Add the runtime behind the chain; a stack that cannot be built exits 2."""
    try:
        runtime = build()
    except ChainRuntimeError as error:
        print(f"{PROJECT}: {error}", file=sys.stderr)
        raise SystemExit(BAD_INPUT) from None
    pulumi.export("runtime_host", runtime.service_host)
    pulumi.export("namespace", runtime.namespace)


main()
