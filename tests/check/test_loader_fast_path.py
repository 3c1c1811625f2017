"""The loader's libyaml path reads what the Python reader reads, and leaves errors to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hitless_policy.loader import InputError, iter_documents, load_documents, read_text

FILES = [
    "corpus/k8s/argocd-ha-namespace-install.yaml",
    "corpus/k8s/kic-e2e-all-in-one-dbless.yaml",
    "corpus/kong/kong-spec-burst-1.1.yml",
    "corpus/synthetic/intorstr-strings.yaml",
    "corpus/synthetic/cm-kong-yml-json-strings.yaml",
]


@pytest.mark.parametrize("name", FILES)
def test_same_documents(shared: Path, name: str) -> None:
    text = read_text(shared / name)
    fast = load_documents(text, name)
    slow = list(iter_documents(text, name))
    assert [(d.line, d.data) for d in fast] == [(d.line, d.data) for d in slow]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a: " + "[" * 70 + "]" * 70 + "\n", "nested deeper than 64 levels"),
        ("when: !!timestamp 2001-12-14\n", "timestamp"),
        ("n: " + "9" * 50 + "\n", "integer of 50 digits"),
        ("a: &x [1, 2]\nb: *x\nc: *y\n", "not valid YAML"),
    ],
)
def test_errors_worded_by_the_python_reader(text: str, words: str) -> None:
    with pytest.raises(InputError, match=words):
        load_documents(text, "t.yaml")


def test_plain_timestamps_stay_strings() -> None:
    (doc,) = load_documents("when: 2001-12-14\n", "t.yaml")
    assert doc.data == {"when": "2001-12-14"}
