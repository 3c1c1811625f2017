"""Ask the component package's plugin for its schema, as the Pulumi engine does.

    python -m tests.package_client <python> <out.json>

Starts `package/__main__.py` with `<python>` as a provider plugin process (its one argument is
the engine's address, which `GetSchema` never contacts; the plugin prints its own port on
stdout), then calls `GetPluginInfo` and `GetSchema` over the provider gRPC protocol with the
stubs the `pulumi` SDK ships. Run it inside a network namespace (`unshare -rn`): the plugin
listens on loopback only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grpc  # type: ignore[import-untyped]
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]
"""The repository root."""
ENGINE = "127.0.0.1:9"
"""The engine address passed to the plugin (nothing listens there; no call reaches it)."""


def run(python: str) -> dict[str, object]:
    """The plugin's info and schema, from one plugin process started with `python`."""
    plugin = subprocess.Popen(
        [python, "-I", str(ROOT / "package" / "__main__.py"), ENGINE],
        cwd=ROOT / "package",
        stdout=subprocess.PIPE,
    )
    try:
        assert plugin.stdout is not None
        port = int(plugin.stdout.readline().decode().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            info = stub.GetPluginInfo(empty_pb2.Empty(), timeout=60)
            schema = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=60)
            return {"version": info.version, "schema": json.loads(schema.schema)}
    finally:
        plugin.terminate()
        plugin.wait(timeout=30)


def main() -> None:
    """Write the plugin's answers to the file named on the command line."""
    Path(sys.argv[2]).write_text(json.dumps(run(sys.argv[1])))


if __name__ == "__main__":
    main()
