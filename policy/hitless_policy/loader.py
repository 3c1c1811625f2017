"""One loader for every YAML (and JSON) input, with limits: hostile input refused in milliseconds.

Every file hitless reads — stack files, team manifests, Kong declarative configs (also inside a
ConfigMap), the pack config — goes through here. What it refuses, and why:

- non-regular files (a FIFO, `/dev/zero`) and files over `Limits.max_bytes`: reading them would hang
  or exhaust memory;
- bytes that are not UTF-8 (the line of the first bad byte is named);
- nesting deeper than `Limits.max_depth` (PyYAML composes recursively: a RecursionError otherwise);
- alias expansion beyond `Limits.max_nodes` nodes (a "billion laughs" bomb stays small on disk and
  as composed nodes, but every consumer that walks it — validation, JSON, an error message — pays
  for the expanded tree);
- tags that build non-JSON values (`!!binary`, `!!set`, `!!omap`, `!!pairs`, `!!python/*`, custom
  tags) and integers longer than `Limits.max_int_digits` digits.

Timestamps are not resolved: `2026-01-01` stays the string a Kubernetes or Pulumi consumer sees
(YAML 1.2's core schema has no timestamp type), so a date never reaches a model as `datetime.date`.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader, ReaderError
from yaml.resolver import Resolver
from yaml.scanner import Scanner


@dataclass(frozen=True)
class Limits:
    """What one input may cost."""

    max_bytes: int = 32 * 1024 * 1024
    """Largest file read (bytes); a larger one is refused before it is read whole."""
    max_depth: int = 64
    """Deepest nesting of mappings and sequences."""
    max_nodes: int = 1_000_000
    """Most nodes one document may expand to, aliases counted at their expanded size."""
    max_int_digits: int = 40
    """Longest integer literal (digits); larger numbers are no timeout, count or size."""
    max_documents: int = 100_000
    """Most documents in one multi-document stream."""


DEFAULT_LIMITS = Limits()
"""The limits every command uses."""

CLIP = 80
"""How many characters of an offending value an error message repeats."""


def clip(value: object, width: int = CLIP) -> str:
    """Text of `value` cut to `width` characters: an error never echoes a huge value."""
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else f"{text[: width - 1]}… ({len(text)} characters)"


class InputError(ValueError):
    """An input that cannot be read or understood; printed as `file:line: reason` (exit 2)."""

    def __init__(self, file: str | os.PathLike[str], line: int, reason: str) -> None:
        super().__init__(f"{file}:{line}: {reason}")
        self.file = str(file)
        """The file (or a label such as `<stdin>` or `ConfigMap kong/kong-config`)."""
        self.line = line
        """1-based line of the problem (0 when it concerns the whole file)."""
        self.reason = reason
        """What is wrong."""


def read_text(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> str:
    """The UTF-8 text of a regular file no larger than `limits.max_bytes` (InputError otherwise)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise InputError(path, 0, f"cannot read: {error.strerror or error}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(path, 0, "not a regular file (a directory, device or pipe)")
        if info.st_size > limits.max_bytes:
            raise InputError(
                path,
                0,
                f"file of {info.st_size} bytes is over the {limits.max_bytes}-byte limit",
            )
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(limits.max_bytes + 1)
    except OSError as error:
        raise InputError(path, 0, f"cannot read: {error.strerror or error}") from None
    finally:
        os.close(fd)
    if len(data) > limits.max_bytes:
        raise InputError(path, 0, f"file is over the {limits.max_bytes}-byte limit")
    return decode(data, path)


def decode(data: bytes, source: str | os.PathLike[str]) -> str:
    """UTF-8 text of `data` (a leading BOM dropped); InputError names the line of a bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(
            source, line, f"byte 0x{data[error.start]:02x} is not UTF-8; save the file as UTF-8"
        ) from None


_REFUSED_TAGS = {
    "tag:yaml.org,2002:binary": "binary data",
    "tag:yaml.org,2002:set": "a set",
    "tag:yaml.org,2002:omap": "an ordered map",
    "tag:yaml.org,2002:pairs": "a list of pairs",
    "tag:yaml.org,2002:timestamp": "a timestamp",
}


class _Limited(Composer, SafeConstructor, Resolver):
    """Composition and construction with limits: depth, integer digits, refused tags.

    Shared by both loaders below; they differ only in who scans and parses the text.
    """

    limits: Limits = DEFAULT_LIMITS
    _depth: int = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        """Compose one node, refusing nesting deeper than the limit."""
        self._depth += 1
        try:
            if self._depth > self.limits.max_depth:
                mark = self.peek_event().start_mark  # type: ignore[attr-defined]
                raise _RefusedError(
                    mark.line + 1, f"nested deeper than {self.limits.max_depth} levels"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node: ScalarNode) -> int:
        """An integer literal no longer than the limit."""
        digits = sum(ch.isdigit() for ch in str(node.value))
        if digits > self.limits.max_int_digits:
            raise _RefusedError(
                node.start_mark.line + 1,
                f"integer of {digits} digits (at most {self.limits.max_int_digits})",
            )
        return super().construct_yaml_int(node)

    def construct_refused(self, node: Node) -> None:
        """Refuse a tag whose value JSON cannot carry."""
        what = _REFUSED_TAGS.get(node.tag, node.tag)
        raise _RefusedError(
            node.start_mark.line + 1,
            f"{what} ({node.tag}) is not accepted: write it as a plain string, list or mapping",
        )


class _Loader(_Limited, Reader, Scanner, Parser):
    """PyYAML's pure-Python scanner and parser under the limits (used without libyaml)."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)

    def fetch_flow_collection_start(self, TokenClass: type[Any]) -> None:  # noqa: N803
        """Scan `[` or `{`, refusing flow nesting deeper than the limit.

        PyYAML's scanner keeps a possible simple key per open flow level and re-checks them all
        on every token, so `[[[[...` on one line costs quadratic time before the composer
        ever sees the depth; the scanner refuses it here, at the limit.
        """
        if self.flow_level >= self.limits.max_depth:
            mark = self.get_mark()
            raise _RefusedError(mark.line + 1, f"nested deeper than {self.limits.max_depth} levels")
        super().fetch_flow_collection_start(TokenClass)


_CParser: type[Any] | None = getattr(getattr(yaml, "_yaml", None), "CParser", None)


class _FastLoader(_Limited):
    """libyaml's C scanner and parser (PyYAML's `CParser`) under the same limits.

    Only events come from C; composition, tag resolution and construction stay the Python code
    above, so depth, timestamps, tags and integers are judged identically. The pure-Python
    scanner is slow on large files (a 442 kB Kong config took 27 s on a busy machine); libyaml
    scans it in a fraction of that.
    """

    def __init__(self, stream: str) -> None:
        if _CParser is None:
            raise RuntimeError("PyYAML was built without libyaml")
        self._parser = _CParser(stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)

    def check_event(self, *choices: type[Any]) -> bool:
        """Whether the next event is one of `choices` (any event when none is given)."""
        return bool(self._parser.check_event(*choices))

    def peek_event(self) -> Any:
        """The next event, not consumed."""
        return self._parser.peek_event()

    def get_event(self) -> Any:
        """The next event, consumed."""
        return self._parser.get_event()

    def dispose(self) -> None:
        """Release libyaml's parser."""
        self._parser.dispose()


class _RefusedError(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


_Limited.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# PyYAML's stubs type add_constructor for its own loader classes only.
_Limited.add_constructor("tag:yaml.org,2002:int", _Limited.construct_yaml_int)  # type: ignore[type-var]
for _tag in _REFUSED_TAGS:
    _Limited.add_constructor(_tag, _Limited.construct_refused)  # type: ignore[type-var]


def _expanded_size(root: Node, limit: int) -> int:
    """Nodes of `root` with every alias expanded, stopping as soon as `limit` is passed.

    Aliases are the same node object in PyYAML's graph, so the size is memoized per node: linear
    in the composed graph however large the expansion.
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, ScalarNode):
            sizes[id(node)] = 1
            continue
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        if not children_done:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        total = 1 + sum(sizes.get(id(child), 1) for child in children)
        sizes[id(node)] = min(total, limit + 1)
        if total > limit:
            return total
    return sizes[id(root)]


@dataclass(frozen=True)
class Document:
    """One YAML document of a stream."""

    line: int
    """1-based line where the document starts."""
    data: Any
    """The document: mappings, lists, str, int, float, bool or None only."""


def _reader_line(text: str, error: ReaderError) -> int:
    """1-based line of a reader error (libyaml counts UTF-8 bytes, PyYAML characters)."""
    if _CParser is not None:
        return text.encode("utf-8", "surrogatepass")[: error.position].count(b"\n") + 1
    return text[: error.position].count("\n") + 1


def _reader_reason(error: ReaderError) -> str:
    """Why the reader refused a character, naming it."""
    character = error.character
    shown = chr(character) if isinstance(character, int) else character
    return f"character {shown!r} is not allowed in YAML"


def iter_documents(
    text: str, source: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS
) -> Iterator[Document]:
    """Every document of a multi-document YAML (or JSON) stream, within `limits`."""
    try:
        loader: _Loader | _FastLoader = _FastLoader(text) if _CParser is not None else _Loader(text)
    except ReaderError as error:
        raise InputError(source, _reader_line(text, error), _reader_reason(error)) from None
    except UnicodeEncodeError:
        raise InputError(source, 0, "text that is not valid Unicode (a lone surrogate)") from None
    loader.limits = limits
    count = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                break
            count += 1
            line = node.start_mark.line + 1
            if count > limits.max_documents:
                raise InputError(source, line, f"more than {limits.max_documents} documents")
            size = _expanded_size(node, limits.max_nodes)
            if size > limits.max_nodes:
                raise InputError(
                    source,
                    line,
                    f"document expands to more than {limits.max_nodes} nodes through aliases "
                    "(a YAML alias bomb?); write the values out or use fewer anchors",
                )
            yield Document(line, loader.construct_document(node))
    except _RefusedError as refused:
        raise InputError(source, refused.line, refused.reason) from None
    except ConstructorError as error:
        mark = error.problem_mark
        raise InputError(
            source, mark.line + 1 if mark else 0, f"not accepted YAML: {clip(error.problem, 200)}"
        ) from None
    except ReaderError as error:
        raise InputError(source, _reader_line(text, error), _reader_reason(error)) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        if "maximum nesting depth" in problem:  # libyaml's own (deeper) limit came first
            raise InputError(
                source,
                mark.line + 1 if mark else 0,
                f"nested deeper than {limits.max_depth} levels",
            ) from None
        raise InputError(
            source, mark.line + 1 if mark else 0, f"not valid YAML: {clip(problem, 200)}"
        ) from None
    except (RecursionError, MemoryError):
        raise InputError(source, 0, "input too deeply nested or too large") from None
    finally:
        loader.dispose()


def load_documents(
    text: str, source: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS
) -> list[Document]:
    """All documents of `text` (see `iter_documents`).

    With libyaml, the documents are first read whole in C (parser, composer and constructor)
    after cheap checks that the limits cannot be passed (about ten times faster on cluster-sized
    manifests); on any doubt or problem `iter_documents` reads them instead, so every error is
    reported exactly as it words it.
    """
    fast = _fast_documents(text, limits)
    return fast if fast is not None else list(iter_documents(text, source, limits))


_CSafeLoader: Any = getattr(yaml, "CSafeLoader", None)


if _CSafeLoader is not None:

    class _CLoader(_CSafeLoader):  # type: ignore[misc]
        """libyaml's parser and composer with `_Loader`'s resolvers and constructors."""

        limits: Limits = DEFAULT_LIMITS

        def construct_yaml_int(self, node: ScalarNode) -> int:
            """An integer literal no longer than the limit."""
            digits = sum(ch.isdigit() for ch in str(node.value))
            if digits > self.limits.max_int_digits:
                raise _RefusedError(node.start_mark.line + 1, "integer too long")
            return int(yaml.constructor.SafeConstructor.construct_yaml_int(self, node))

        def construct_refused(self, node: Node) -> None:
            """Refuse a tag whose value JSON cannot carry."""
            raise _RefusedError(node.start_mark.line + 1, node.tag)

    _CLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
    _CLoader.add_constructor("tag:yaml.org,2002:int", _CLoader.construct_yaml_int)
    for _tag in _REFUSED_TAGS:
        _CLoader.add_constructor(_tag, _CLoader.construct_refused)


def _depth_within(text: str, limits: Limits) -> bool:
    """Whether no node of `text` nests deeper than the limit.

    Read from libyaml's event stream, which it produces without recursion, so the recursive C
    composer only ever sees bounded input.
    """
    parser = _CSafeLoader(text)
    depth = 0
    try:
        while (event := parser.get_event()) is not None:
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limits.max_depth:
                    return False
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.NodeEvent) and depth + 1 > limits.max_depth:
                return False
    finally:
        parser.dispose()
    return True


def _depth_bound(text: str) -> int:
    """An upper bound of the nesting depth of `text`, read without parsing.

    Block nesting needs more indentation every two levels (a sequence may sit at its key's
    indentation), and every flow level needs its own bracket.
    """
    indent = max((len(m) for m in re.findall(r"^[ \t]*", text, re.MULTILINE)), default=0)
    return 2 * (indent + 1) + text.count("[") + text.count("{") + 1


def _may_exceed(text: str, limits: Limits) -> bool:
    """Whether a document of `text` may expand past the node limit.

    Only through aliases (an anchor `&` and an alias `*` are needed), or by being large (every
    node but one takes a separator).
    """
    return ("&" in text and "*" in text) or len(text) >= 2 * limits.max_nodes


def _fast_documents(text: str, limits: Limits) -> list[Document] | None:
    """The documents of `text` read with libyaml, or None to let the Python reader decide."""
    if _CSafeLoader is None:
        return None
    try:
        if _depth_bound(text) > limits.max_depth and not _depth_within(text, limits):
            return None
        loader = _CLoader(text)
        loader.limits = limits
        out: list[Document] = []
        try:
            while loader.check_node():
                node = loader.get_node()
                if node is None:
                    break
                if len(out) >= limits.max_documents:
                    return None
                if _may_exceed(text, limits) and (
                    _expanded_size(node, limits.max_nodes) > limits.max_nodes
                ):
                    return None
                out.append(Document(node.start_mark.line + 1, loader.construct_document(node)))
        finally:
            loader.dispose()
    except (yaml.YAMLError, _RefusedError, RecursionError, MemoryError, ValueError):
        return None
    return out


def load_one(text: str, source: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> Any:
    """The single document of `text` (None when empty); InputError when there are several."""
    docs = load_documents(text, source, limits)
    if len(docs) > 1:
        raise InputError(source, docs[1].line, "expected one YAML document, found several")
    return docs[0].data if docs else None


def load_file(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> list[Document]:
    """All documents of the file at `path`, read with `read_text`."""
    return load_documents(read_text(path, limits), Path(path), limits)


def load_one_file(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> Any:
    """The single document of the file at `path` (see `load_one`)."""
    return load_one(read_text(path, limits), Path(path), limits)
