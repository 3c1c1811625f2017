"""Shared fixtures: the mock runtime, the stack configs, a capture helper."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from hitless.components.config import RuntimeKongConfig, StackConfig, load_stack_config
from hitless.components.kong_entities import KongRuntimeTarget
from hitless.harness import Capture, run_program
from hitless_policy.loader import load_one_file

ROOT = Path(__file__).resolve().parent.parent
"""The repository root."""
SHARED = ROOT.parent / "shared"
"""Public inputs nobody here wrote (corpus, peer suite, seeds): beside the checkout, in CI too."""

NIGHTLY_EXAMPLES = 2000
"""Examples per fuzz property under `make fuzz` (`--hypothesis-profile=nightly`)."""
settings.register_profile("nightly", max_examples=NIGHTLY_EXAMPLES, deadline=None)


def stack_values(stack: str) -> dict[str, Any]:
    """The raw `config:` mapping of `stacks/Pulumi.<stack>.yaml`."""
    raw = load_one_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml")
    return dict(raw["config"])


def hitless_values(stack: str) -> dict[str, Any]:
    """The stack's `hitless:*` values keyed without the prefix."""
    return {
        key.split(":", 1)[1]: value
        for key, value in stack_values(stack).items()
        if key.startswith("hitless:")
    }


def rt_target(scheme: str = "HTTPS", route: RuntimeKongConfig | None = None) -> KongRuntimeTarget:
    """The dev runtime `rt` as Kong reaches it (`rt.rt.svc.cluster.local:8080`)."""
    return KongRuntimeTarget(
        name="rt",
        host="rt.rt.svc.cluster.local",
        port=8080,
        scheme=scheme,
        route=route if route is not None else RuntimeKongConfig(),
    )


def set_path(values: dict[str, Any], path: str, value: object) -> None:
    """Set the dotted stack key `path` in `values` (a number part indexes a list:
    `runtimes.1.kong.read_timeout_ms`), creating mappings on the way."""
    section, *keys = path.split(".")
    node: Any = values.setdefault(section, {})
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


@pytest.fixture
def shared() -> Path:
    """`../shared`; a missing folder fails the test (CI always has it)."""
    assert SHARED.is_dir(), f"{SHARED} is missing: the tests read public inputs from ../shared"
    return SHARED


@pytest.fixture(params=["dev", "prod"])
def stack_name(request: pytest.FixtureRequest) -> str:
    """Each checked-in stack."""
    return str(request.param)


@pytest.fixture
def stack_config(stack_name: str) -> StackConfig:
    """The validated config of each checked-in stack."""
    return load_stack_config(hitless_values(stack_name), stack_name)


@pytest.fixture
def dev_config() -> StackConfig:
    """The validated dev stack config."""
    return load_stack_config(hitless_values("dev"), "dev")


@pytest.fixture
def prod_config() -> StackConfig:
    """The validated prod stack config."""
    return load_stack_config(hitless_values("prod"), "prod")


Runner = Callable[..., Capture]


@pytest.fixture
def capture() -> Runner:
    """Run a program under the mock runtime and return every resource it registered.

    `capture(program, preview=False, stack="dev", config=None)`; `config` defaults to the
    stack file's values.
    """

    def run(
        program: Callable[[], None],
        *,
        preview: bool = False,
        stack: str = "dev",
        config: dict[str, Any] | None = None,
    ) -> Capture:
        return run_program(
            program,
            project="hitless",
            stack=stack,
            config=stack_values(stack) if config is None else config,
            preview=preview,
        )

    return run
