"""Drive `policy/` as the Pulumi engine does, over the analyzer gRPC protocol.

    python -m tests.policy.analyzer_client <cases.json> <out.json>

Starts `policy/__main__.py` as a policy-analyzer plugin process (it prints its port on stdout),
then for each case: `GetAnalyzerInfo`, `Configure` with the case's policy config, `Analyze` for
every resource, `AnalyzeStack` with all of them; writes every diagnostic per case. The stubs are
the ones the `pulumi` SDK ships (`pulumi.runtime.proto`). Run it inside a network namespace
(`unshare -rn`): the plugin listens on loopback only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
"""The repository root."""
LEVELS = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory"}
"""Enforcement levels by their protocol value."""


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    json_format.ParseDict(value, out)
    return out


def _options(timeouts: dict[str, float]) -> analyzer_pb2.AnalyzerResourceOptions:
    """Resource options as the engine sends them: custom timeouts in seconds."""
    return analyzer_pb2.AnalyzerResourceOptions(
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(
            create=float(timeouts.get("create_seconds", 0)),
            update=float(timeouts.get("update_seconds", 0)),
            delete=float(timeouts.get("delete_seconds", 0)),
        )
    )


def _resource(item: dict[str, Any]) -> analyzer_pb2.AnalyzerResource:
    return analyzer_pb2.AnalyzerResource(
        type=item["type"],
        properties=_struct(item["props"]),
        urn=item["urn"],
        name=item["name"],
        parent=item.get("parent") or "",
        options=_options(item.get("opts", {}).get("custom_timeouts", {})),
        dependencies=item.get("dependencies", []),
        propertyDependencies={
            key: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns)
            for key, urns in item.get("property_dependencies", {}).items()
        },
    )


def _diagnostics(response: analyzer_pb2.AnalyzeResponse) -> list[dict[str, str]]:
    return [
        {
            "policy": item.policyName,
            "urn": item.urn,
            "level": LEVELS.get(item.enforcementLevel, str(item.enforcementLevel)),
            "message": item.message,
        }
        for item in response.diagnostics
    ]


def run(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Every case's diagnostics, from one plugin process."""
    plugin = subprocess.Popen(
        [sys.executable, str(ROOT / "policy" / "__main__.py")],
        cwd=ROOT / "policy",
        stdout=subprocess.PIPE,
    )
    try:
        assert plugin.stdout is not None
        port = int(plugin.stdout.readline().decode().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty())
            out: dict[str, Any] = {
                "info": {
                    "name": info.name,
                    "policies": {p.name: LEVELS[p.enforcementLevel] for p in info.policies},
                },
                "cases": {},
            }
            for case in cases:
                # As the engine does: each policy keeps the level the pack declares unless the
                # config document sets one.
                levels = {p.name: p.enforcementLevel for p in info.policies}
                stub.Configure(
                    analyzer_pb2.ConfigureAnalyzerRequest(
                        policyConfig={
                            name: analyzer_pb2.PolicyConfig(
                                enforcementLevel=levels[name], properties=_struct(body)
                            )
                            for name, body in case["config"].items()
                        }
                    )
                )
                found: list[dict[str, str]] = []
                for item in case["resources"]:
                    if not item.get("custom", True):
                        continue
                    request = analyzer_pb2.AnalyzeRequest(
                        type=item["type"],
                        properties=_struct(item["props"]),
                        urn=item["urn"],
                        name=item["name"],
                    )
                    found.extend(_diagnostics(stub.Analyze(request)))
                stack = analyzer_pb2.AnalyzeStackRequest(
                    resources=[_resource(item) for item in case["resources"]]
                )
                found.extend(_diagnostics(stub.AnalyzeStack(stack)))
                out["cases"][case["name"]] = found
            return out
    finally:
        plugin.terminate()
        plugin.wait(timeout=30)


def main() -> None:
    """Read the cases, write the diagnostics."""
    cases = json.loads(Path(sys.argv[1]).read_text())
    Path(sys.argv[2]).write_text(json.dumps(run(cases)))


if __name__ == "__main__":
    main()
