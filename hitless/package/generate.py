"""Writes `hitless/package/inputs.py`: the component package's input types, from the config model.

Pulumi's schema inference (`pulumi.provider.experimental.analyzer`) reads the annotations of a
component's `args` type and takes each property's description from the docstring under it in
the source file, so the inputs must be real classes in a real module. They are generated from
the pydantic models of `hitless.components.config`, which stay the one source of every field,
description and default: an optional input left unset is left out of the config, and the model
supplies its default. Run `python -m hitless.package.generate` after changing the models;
`tests/test_package.py` fails while the file is stale.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined, to_jsonable_python

from hitless.components.chain_runtime import ChainFacts, KongFacts
from hitless.components.config import StackConfig

TARGET = Path(__file__).with_name("inputs.py")
"""The generated module."""
ROOT_MODELS: tuple[type[BaseModel], ...] = (StackConfig, ChainFacts, KongFacts)
"""The models the components' inputs are: `StackConfig`, the chain component's inputs;
`ChainFacts` and `KongFacts`, the chain's stack outputs `ChainRuntime` takes (its `runtime` is
`RuntimeConfig`, which `StackConfig` reaches)."""
WIDTH = 100
"""Line length of the generated source (the project's ruff line length)."""

_HEADER = '''"""Input types of the hitless component package, from `hitless.components.config`.

Generated; do not edit: run `python -m hitless.package.generate`. Each class mirrors one
config model, each docstring is the field's description and its default; optional inputs left
unset take the model's default. Values are plain (not Outputs): every setting a rule judges
must be known during a preview.
"""

from typing import NotRequired, TypedDict
'''


def _strip(annotation: Any) -> Any:
    """`annotation` without `Annotated[...]` and `| None` (optional inputs are `NotRequired`)."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                raise TypeError(f"unsupported union {annotation!r}: one type besides None")
            annotation = members[0]
        else:
            return annotation


class _Generator:
    """Collects the models and enums reachable from `ROOT_MODELS` and renders them in order."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.done: set[type[BaseModel]] = set()
        self.enums: set[type[enum.Enum]] = set()

    def type_text(self, annotation: Any, notes: list[str]) -> str:
        """The TypedDict annotation of a field's type; facts the type loses go to `notes`."""
        annotation = _strip(annotation)
        origin = get_origin(annotation)
        if origin is Literal:
            values = get_args(annotation)
            notes.append("One of: " + ", ".join(f"`{json.dumps(value)}`" for value in values) + ".")
            return type(values[0]).__name__
        if origin is list:
            item = _strip(get_args(annotation)[0])
            if isinstance(item, type) and issubclass(item, enum.Enum):
                # The SDK's provider maps each item of a list whose items are a named type as
                # an object (`ComponentProvider.map_input_properties`, "arrays of complex
                # types"), which turns enum values into `{}`: a list of enums travels as
                # strings, the model checks them.
                allowed = ", ".join(f"`{json.dumps(member.value)}`" for member in item)
                notes.append(f"Each one of: {allowed}.")
                return "list[str]"
            return f"list[{self.type_text(item, notes)}]"
        if origin is dict:
            key, value = get_args(annotation)
            return f"dict[{self.type_text(key, notes)}, {self.type_text(value, notes)}]"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            self.model(annotation)
            return annotation.__name__
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            self.enums.add(annotation)
            return annotation.__name__
        if annotation in (ipaddress.IPv4Address, ipaddress.IPv4Network):
            notes.append(
                "An IPv4 address." if annotation is ipaddress.IPv4Address else "An IPv4 CIDR range."
            )
            return "str"
        if annotation in (bool, int, float, str):
            return str(annotation.__name__)
        raise TypeError(f"unsupported field type {annotation!r}")

    def model(self, model: type[BaseModel]) -> None:
        """Render `model` as a TypedDict after the models it refers to."""
        if model in self.done:
            return
        self.done.add(model)
        lines: list[str] = []
        for name, field in model.model_fields.items():
            notes: list[str] = []
            text = self.type_text(field.annotation, notes)
            required = field.is_required()
            annotation = text if required else f"NotRequired[{text}]"
            description = (field.description or "").strip()
            doc = " ".join([description, *notes, _default_text(field.default, field)]).strip()
            lines.append(f"    {name}: {annotation}")
            lines.append(_docstring(doc, indent=4))
            lines.append("")
        summary = (model.__doc__ or model.__name__).strip().splitlines()[0]
        block = [f"class {model.__name__}(TypedDict):", _docstring(summary, indent=4), ""]
        self.blocks.append("\n".join(block + lines).rstrip() + "\n")

    def render(self) -> str:
        """The whole module."""
        for root in ROOT_MODELS:
            self.model(root)
        imports: dict[str, list[str]] = {}
        for member in self.enums:
            imports.setdefault(member.__module__, []).append(member.__name__)
        header = _HEADER
        for module in sorted(imports):
            header += f"\nfrom {module} import {', '.join(sorted(imports[module]))}\n"
        return header + "\n\n" + "\n\n".join(self.blocks)


def _default_text(default: Any, field: Any) -> str:
    """`Default: ...` for an optional field, from the model (empty for a required one)."""
    if field.is_required():
        return ""
    if default is PydanticUndefined:
        default = field.default_factory()
    if isinstance(default, BaseModel):
        return "Default: each of its fields' defaults."
    if default is None:
        return "Default: unset."
    return f"Default: `{json.dumps(to_jsonable_python(default))}`."


def _docstring(text: str, *, indent: int) -> str:
    """A docstring: triple-quoted on one line, or adjacent literals when longer.

    Pulumi's analyzer copies a docstring into the schema as it is written, so a long one is
    split into adjacent string literals (one string to Python, without the indentation a
    wrapped triple-quoted string would carry into every SDK's documentation).
    """
    pad = " " * indent
    one = f'{pad}"""{_escaped(text)}"""'
    if len(one) <= WIDTH:
        return one
    chunks = textwrap.wrap(
        text,
        width=WIDTH - indent - 8,
        break_on_hyphens=False,
        drop_whitespace=False,
        break_long_words=False,
    )
    inner = " " * (indent + 4)
    lines = [f"{inner}{json.dumps(chunk)}" for chunk in chunks]
    return "\n".join([f"{pad}(", *lines, f"{pad})"])


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _formatted(source: str) -> str:
    """`source` as `ruff format` writes it (the project's formatter, a dev dependency)."""
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run(
        [str(ruff if ruff.exists() else "ruff"), "format", f"--stdin-filename={TARGET}", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def models() -> list[type[BaseModel]]:
    """Every model the inputs mirror: `ROOT_MODELS` and the models their fields refer to."""
    generator = _Generator()
    for root in ROOT_MODELS:
        generator.model(root)
    return sorted(generator.done, key=lambda model: model.__name__)


def render() -> str:
    """The text `inputs.py` must hold."""
    return _formatted(_Generator().render())


def main() -> int:
    """Write `inputs.py`; with `--check`, exit 1 instead when it is stale."""
    text = render()
    if "--check" in sys.argv[1:]:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is stale: run python -m hitless.package.generate")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
