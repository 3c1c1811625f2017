"""The hitless component package: the chain as a Pulumi component for every Pulumi language.

`package/PulumiPlugin.yaml` runs `serve()` under Pulumi's Python component provider host
(`pulumi.provider.experimental`), which infers the package schema from the typed inputs of the
components below (`hitless.package.inputs`, generated from the config model) and constructs
them when a TypeScript, Go, YAML, ... program asks. See `docs/package.md`.
"""

import pulumi
from pulumi.provider.experimental import component_provider_host

from hitless import package_version
from hitless.package.chain import PACKAGE_NAME, Chain
from hitless.package.chain_runtime import ChainRuntime


def components() -> list[type[pulumi.ComponentResource]]:
    """The components the package exposes."""
    return [Chain, ChainRuntime]


def serve() -> None:
    """Serve the package's components over the provider gRPC protocol (blocks)."""
    component_provider_host(components(), name=PACKAGE_NAME, version=package_version())
