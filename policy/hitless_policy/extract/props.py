"""Typed, unknown-aware reading of wire-form props (camelCase dicts with unknown sentinels)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from hitless_policy.facts import Unknown

UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string (also the SDK's generic UNKNOWN)
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)
"""Pulumi's unknown sentinels (the same set `pulumi_policy.proxy` checks)."""


def is_unknown(value: object) -> bool:
    """Whether `value` is one of Pulumi's unknown sentinels."""
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


_SCALARS = frozenset({str, int, float, bool, type(None)})
"""Types `plain` returns as they are."""


def plain(value: Any) -> Any:
    """Plain dicts and lists from props, unwrapping `unknown_checking_proxy` without tripping it.

    The proxy raises on reading an unknown; its `"__target"` key gives the wrapped container, so
    sentinels survive as strings and the extractors turn them into `Unknown` markers.
    """
    kind = type(value)
    if kind in _SCALARS:  # the common case first: no ABC checks
        return value
    if kind is dict:
        return {str(key): plain(item) for key, item in value.items()}
    if kind.__name__ == "_DictProxy":
        return {str(key): plain(item) for key, item in value["__target"].items()}
    if kind is list:
        return [plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        is_proxy = type(value).__name__ == "_ListProxy"
        raw = value["__target"] if is_proxy else value  # type: ignore[call-overload]
        return [plain(item) for item in raw]
    return value


def finite(value: object) -> float | None:
    """A finite number from a number or numeric string (`"inf"`, `"nan"`, `1e999`: None)."""
    return _number(value)


def _number(value: object) -> float | None:
    """A finite number from a number or numeric string; None otherwise.

    `inf`, `nan` and integers too large for a float are not numbers a timeout, count or size can
    take: they become "not judged" (Unknown) instead of reaching the budget math.
    """
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str):
            number = float(value.strip())
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


class Props:
    """A view on (part of) a resource's props that turns sentinels into `Unknown(path)`."""

    def __init__(self, data: object, base: str = "") -> None:
        self.data = data
        self.base = base

    def _path(self, keys: Sequence[str | int]) -> str:
        tail = ".".join(str(key) for key in keys)
        return f"{self.base}.{tail}" if self.base and tail else (self.base or tail)

    def get(self, *keys: str | int) -> object:
        """The raw value at `keys` (None when absent), or Unknown where a sentinel sits."""
        current: object = self.data
        for depth, key in enumerate(keys):
            if is_unknown(current):
                return Unknown(self._path(keys[:depth]))
            if isinstance(key, int):
                if not isinstance(current, list) or key >= len(current):
                    return None
                current = current[key]
            else:
                if not isinstance(current, Mapping):
                    return None
                current = current.get(key)
            if current is None:
                return None
        if is_unknown(current):
            return Unknown(self._path(keys))
        return current

    def sub(self, *keys: str | int) -> Props | Unknown | None:
        """A view on the mapping at `keys`."""
        value = self.get(*keys)
        if isinstance(value, Unknown) or value is None:
            return value
        if not isinstance(value, Mapping):
            return Unknown(self._path(keys), f"is not an object: {value!r}")
        return Props(value, self._path(keys))

    def items(self, *keys: str | int) -> list[Props | Unknown] | Unknown | None:
        """Views on each element of the list at `keys`."""
        value = self.get(*keys)
        if isinstance(value, Unknown) or value is None:
            return value
        if not isinstance(value, list):
            return Unknown(self._path(keys), f"is not a list: {value!r}")
        path = self._path(keys)
        out: list[Props | Unknown] = []
        for index, item in enumerate(value):
            if is_unknown(item):
                out.append(Unknown(f"{path}.{index}"))
            else:
                out.append(Props(item, f"{path}.{index}"))
        return out

    def each(self, *keys: str | int) -> list[Props]:
        """Views on the known elements of the list at `keys` (empty when absent or unknown)."""
        found = self.items(*keys)
        return (
            [item for item in found if isinstance(item, Props)] if isinstance(found, list) else []
        )

    def num(self, *keys: str | int, default: float) -> float | Unknown:
        """A number (numeric strings accepted), `default` when absent."""
        value = self.get(*keys)
        if value is None:
            return default
        if isinstance(value, Unknown):
            return value
        number = _number(value)
        if number is None:
            return Unknown(self._path(keys), f"is not a number: {value!r}")
        return number

    def opt_num(self, *keys: str | int) -> float | Unknown | None:
        """A number, or None when absent."""
        if self.get(*keys) is None:
            return None
        return self.num(*keys, default=0)

    def integer(self, *keys: str | int, default: int) -> int | Unknown:
        """An integer (integral floats accepted: the engine sends floats), `default` if absent."""
        value = self.num(*keys, default=default)
        if isinstance(value, Unknown):
            return value
        if value != int(value):
            return Unknown(self._path(keys), f"is not an integer: {value!r}")
        return int(value)

    def text(self, *keys: str | int, default: str) -> str | Unknown:
        """A string (numbers and booleans rendered as text), `default` when absent."""
        value = self.get(*keys)
        if value is None:
            return default
        if isinstance(value, Unknown):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return f"{value:g}"
        if not isinstance(value, str):
            return Unknown(self._path(keys), f"is not a string: {value!r}")
        return value

    def opt_text(self, *keys: str | int) -> str | Unknown | None:
        """A string, or None when absent."""
        if self.get(*keys) is None:
            return None
        return self.text(*keys, default="")

    def flag(self, *keys: str | int, default: bool) -> bool | Unknown:
        """A boolean (`"true"`/`"false"` accepted), `default` when absent."""
        value = self.get(*keys)
        if value is None:
            return default
        if isinstance(value, Unknown):
            return value
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return Unknown(self._path(keys), f"is not a boolean: {value!r}")

    def int_or_str(self, *keys: str | int) -> int | str | Unknown | None:
        """A Kubernetes IntOrString (`2` or `"25%"`), None when absent."""
        value = self.get(*keys)
        if value is None or isinstance(value, Unknown):
            return value
        if isinstance(value, str):
            return value
        number = _number(value)
        if number is None or number != int(number):
            return Unknown(self._path(keys), f"is not an int or percent: {value!r}")
        return int(number)

    def mapping(self, *keys: str | int) -> dict[str, object] | Unknown | None:
        """The plain mapping at `keys`, None when absent."""
        value = self.get(*keys)
        if value is None or isinstance(value, Unknown):
            return value
        if not isinstance(value, Mapping):
            return Unknown(self._path(keys), f"is not an object: {value!r}")
        return {str(key): item for key, item in value.items()}

    def str_map(self, *keys: str | int) -> dict[str, str] | Unknown:
        """A string-to-string mapping (labels), empty when absent."""
        value = self.mapping(*keys)
        if value is None:
            return {}
        if isinstance(value, Unknown):
            return value
        out: dict[str, str] = {}
        for key, item in value.items():
            if is_unknown(item):
                return Unknown(self._path((*keys, key)))
            out[key] = str(item)
        return out
