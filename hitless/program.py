"""Load a stack file and run the repository's Pulumi program under the mock runtime.

The program (`<root>/__main__.py`) validates its config itself and raises
`hitless.components.config.StackConfigError` before it registers any resource; `run_stack` lets that
error through unchanged so the CLI can print it and exit 2.
"""

from __future__ import annotations

import dataclasses
import os
import runpy
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hitless.components.config import PROJECT, SECRET_STACK_KEYS, StackConfig, load_stack_config
from hitless.harness import Capture, run_program
from hitless_policy.loader import InputError, load_one_file
from hitless_policy.profile import PackConfig
from hitless_policy.runner import ResourceInput, Verdict, judge

PROJECT_FILE = "Pulumi.yaml"
"""The file that marks a Pulumi project's root."""


class StackFileError(Exception):
    """A stack file that is missing or is not a Pulumi stack file."""


def find_root(start: Path) -> Path:
    """The nearest directory at or above `start` that holds `Pulumi.yaml`."""
    for candidate in (start, *start.parents):
        if (candidate / PROJECT_FILE).is_file():
            return candidate
    raise StackFileError(
        f"no {PROJECT_FILE} in {start} or above it. Fix: run hitless inside the project, or pass "
        "--root <project directory>."
    )


def stack_file(stack: str, root: Path) -> Path:
    """Path of `stacks/Pulumi.<stack>.yaml` under `root`."""
    return root / "stacks" / f"Pulumi.{stack}.yaml"


def load_stack_file(stack: str, root: Path) -> dict[str, Any]:
    """The `config:` mapping of `stacks/Pulumi.<stack>.yaml` (full keys, e.g. `hitless:edge`)."""
    path = stack_file(stack, root)
    if not path.exists():  # a FIFO or device is refused by the loader, not called missing
        present = sorted(
            p.name.removeprefix("Pulumi.").removesuffix(".yaml")
            for p in (root / "stacks").glob("Pulumi.*.yaml")
        )
        raise StackFileError(
            f"stack {stack!r}: {path} does not exist (stacks here: {', '.join(present) or 'none'})."
            f" Fix: pass one of them with --stack, or create {path.name}."
        )
    try:
        raw = load_one_file(path)
    except InputError as error:
        raise StackFileError(str(error)) from None
    config = raw.get("config") if isinstance(raw, dict) else None
    if not isinstance(config, dict):
        raise StackFileError(
            f"{path}: no `config:` mapping. Fix: put the stack's settings under a top-level "
            "`config:` key, as `pulumi config set` writes them."
        )
    return {str(key): value for key, value in config.items()}


def project_values(values: Mapping[str, Any], project: str) -> dict[str, Any]:
    """The `<project>:*` entries of a stack's config, keyed without the prefix."""
    prefix = f"{project}:"
    return {key.removeprefix(prefix): v for key, v in values.items() if key.startswith(prefix)}


def load_config(stack: str, root: Path) -> StackConfig:
    """Validate a stack file's `hitless:*` values as the program does (raises StackConfigError)."""
    return load_stack_config(project_values(load_stack_file(stack, root), PROJECT), stack)


@contextmanager
def _inside(root: Path) -> Iterator[None]:
    """Run with `root` as the working directory and first on `sys.path`, as the engine does."""
    previous_cwd = Path.cwd()
    previous_path = list(sys.path)
    os.chdir(root)
    sys.path.insert(0, str(root))
    try:
        yield
    finally:
        os.chdir(previous_cwd)
        sys.path[:] = previous_path


def run_stack(stack: str, root: Path, *, preview: bool = True) -> Capture:
    """Run `<root>/__main__.py` for `stack` under the mock runtime and capture its resources.

    `preview=True` leaves computed outputs unknown, as in `pulumi preview` of a new stack.
    Raises StackFileError for a missing stack file and lets the program's StackConfigError out.
    """
    values = load_stack_file(stack, root)
    program = root / "__main__.py"
    if not program.is_file():
        raise StackFileError(f"{program} does not exist: {root} is not the hitless project.")

    def run() -> None:
        runpy.run_path(str(program), run_name="__main__")

    with _inside(root):
        capture = run_program(run, project=PROJECT, stack=stack, config=values, preview=preview)
    # The secret stack keys' values are masked even if a component read one as plain config.
    secret_values = [
        value
        for key in SECRET_STACK_KEYS
        if isinstance(value := values.get(f"{PROJECT}:{key}"), str) and value
    ]
    capture.secrets = sorted({*capture.secrets, *secret_values})
    return capture


def resource_inputs(capture: Capture) -> list[ResourceInput]:
    """A capture's resources as the rules receive them (props, parent, resource options)."""
    return [
        ResourceInput(
            urn=res.urn,
            type=res.type,
            name=res.name,
            props=res.props,
            parent=res.parent or None,
            custom_timeouts=res.custom_timeouts,
            property_dependencies=res.property_dependencies,
        )
        for res in capture.resources
    ]


def judge_capture(capture: Capture, config: PackConfig) -> list[Verdict]:
    """Judge every captured resource with the policy pack's rule set (the engine's view).

    Messages are scrubbed of the run's secrets, so neither policy.json nor the console shows one.
    """
    verdicts = judge(resource_inputs(capture), config)
    return [dataclasses.replace(v, message=capture.mask(v.message)) for v in verdicts]
