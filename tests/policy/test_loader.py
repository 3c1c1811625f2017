"""The one YAML loader: hostile input is refused quickly with `file:line: reason`, never a crash."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hitless_policy import loader
from hitless_policy.loader import (
    InputError,
    Limits,
    clip,
    load_documents,
    load_one,
    load_one_file,
    read_text,
)


@pytest.fixture(autouse=True, params=["libyaml", "pure-python"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with libyaml's parser and with PyYAML's pure-Python one (no libyaml)."""
    if request.param == "pure-python":
        monkeypatch.setattr(loader, "_CParser", None)
    return str(request.param)


BOMB = """a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


class TestAliasBomb:
    """A few hundred bytes must not cost seconds and gigabytes in whoever walks the result."""

    def test_bomb_refused_in_milliseconds(self) -> None:
        start = time.perf_counter()
        with pytest.raises(InputError, match=r"^bomb.yaml:1: document expands to more than"):
            load_documents(BOMB, "bomb.yaml")
        assert time.perf_counter() - start < 1.0

    def test_few_aliases_are_fine(self) -> None:
        doc = load_one("base: &b {x: 1}\nother: {<<: *b, y: 2}\n", "ok.yaml")
        assert doc == {"base": {"x": 1}, "other": {"x": 1, "y": 2}}


class TestNesting:
    """PyYAML composes recursively: deep nesting is refused before a RecursionError."""

    def test_deep_flow_nesting(self) -> None:
        text = "a: " + "[" * 5000 + "]" * 5000 + "\n"
        with pytest.raises(InputError, match=r"deep.yaml:1: nested deeper than 64 levels"):
            load_documents(text, "deep.yaml")

    def test_flow_nesting_refused_by_the_scanner(self) -> None:
        # One line of brackets: PyYAML's pure-Python scanner re-checks a pending key per open
        # level on every token (quadratic, ~2 s for 1,000 levels) before the composer could
        # count the depth; it refuses at the limit. libyaml stops at its own depth limit.
        text = "a: " + "[" * 80_000 + "]" * 80_000 + "\n"
        start = time.perf_counter()
        with pytest.raises(InputError, match=r"flat.yaml:1: nested deeper than 64 levels"):
            load_documents(text, "flat.yaml")
        assert time.perf_counter() - start < 0.5

    def test_64_flow_levels_accepted(self) -> None:
        assert load_one("a: " + "[" * 63 + "]" * 63 + "\n", "ok.yaml") is not None

    def test_shared_corpus_deep_nesting(self, shared: Path) -> None:
        path = shared / "corpus" / "synthetic" / "deep-nesting-600.yaml"
        with pytest.raises(InputError, match="nested deeper than"):
            load_one_file(path)


class TestTags:
    """Only JSON-shaped values reach a model: no dates, bytes or sets."""

    def test_dates_stay_strings(self) -> None:
        assert load_one("start: 2026-01-01\nat: 2026-01-01T04:00:00Z\n", "s.yaml") == {
            "start": "2026-01-01",
            "at": "2026-01-01T04:00:00Z",
        }

    @pytest.mark.parametrize(
        ("text", "what"),
        [
            ("k: !!binary aGVsbG8=\n", "binary data"),
            ("k: !!set {a, b}\n", "a set"),
            ("k: !!omap [a: 1]\n", "an ordered map"),
            ("k: !!timestamp 2026-01-01\n", "a timestamp"),
        ],
    )
    def test_non_json_tags_refused(self, text: str, what: str) -> None:
        with pytest.raises(InputError, match=rf"t.yaml:1: {what} \("):
            load_documents(text, "t.yaml")

    def test_python_tag_refused(self) -> None:
        with pytest.raises(InputError, match=r"t.yaml:2: not accepted YAML"):
            load_documents("a: 1\nk: !!python/object/apply:os.system ['true']\n", "t.yaml")

    def test_huge_integer_refused(self) -> None:
        with pytest.raises(InputError, match=r"n.yaml:1: integer of 400 digits"):
            load_documents("n: " + "9" * 400 + "\n", "n.yaml")

    def test_floats_pass_through_for_the_models_to_bound(self) -> None:
        doc = load_one("a: .inf\nb: 1.0e-320\n", "f.yaml")
        assert doc["a"] == float("inf")
        assert 0 < doc["b"] < 1e-300


class TestFiles:
    """Files that would hang or exhaust memory are refused before they are read."""

    def test_fifo_refused(self, tmp_path: Path) -> None:
        fifo = tmp_path / "pipe.yaml"
        os.mkfifo(fifo)
        with pytest.raises(InputError, match="not a regular file"):
            read_text(fifo)

    def test_dev_zero_refused(self) -> None:
        with pytest.raises(InputError, match="not a regular file"):
            read_text("/dev/zero")

    def test_directory_refused(self, tmp_path: Path) -> None:
        with pytest.raises(InputError, match="not a regular file"):
            read_text(tmp_path)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(InputError, match=r"nope.yaml:0: cannot read: No such file"):
            read_text(tmp_path / "nope.yaml")

    def test_size_cap(self, tmp_path: Path) -> None:
        big = tmp_path / "big.yaml"
        big.write_text("a: 1\n" * 100)
        with pytest.raises(InputError, match="over the 64-byte limit"):
            read_text(big, Limits(max_bytes=64))

    def test_latin1_byte_names_its_line(self, tmp_path: Path) -> None:
        path = tmp_path / "latin1.yaml"
        path.write_bytes(b"a: 1\n# caf\xe9\nb: 2\n")
        with pytest.raises(InputError, match=r"latin1.yaml:2: byte 0xe9 is not UTF-8"):
            read_text(path)

    def test_bom_dropped(self, tmp_path: Path) -> None:
        path = tmp_path / "bom.yaml"
        path.write_bytes(b"\xef\xbb\xbfa: 1\n")
        assert load_one_file(path) == {"a": 1}


class TestStreams:
    """Multi-document streams keep each document's first line."""

    def test_lines(self) -> None:
        docs = load_documents("a: 1\n---\nb: 2\n---\n# only a comment\n", "m.yaml")
        assert [(d.line, d.data) for d in docs][:2] == [(1, {"a": 1}), (3, {"b": 2})]

    def test_load_one_refuses_two(self) -> None:
        with pytest.raises(InputError, match=r"two.yaml:3: expected one YAML document"):
            load_one("a: 1\n---\nb: 2\n", "two.yaml")

    def test_syntax_error_line(self) -> None:
        with pytest.raises(InputError, match=r"bad.yaml:3: not valid YAML"):
            load_documents("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml")


def test_clip_caps_echoed_values() -> None:
    text = clip("x" * 10_000)
    assert len(text) < 120
    assert text.endswith("(10000 characters)")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_loads_or_is_an_input_error(text: str) -> None:
    """Property: arbitrary text never raises anything but InputError."""
    error: InputError | None = None
    try:
        load_documents(text, "fuzz.yaml")
    except InputError as raised:
        error = raised
    assert error is None or str(error).startswith("fuzz.yaml:")
