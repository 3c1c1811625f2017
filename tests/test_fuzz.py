"""Fuzzing in the suite: generated junk through the CLI, asserting the exit-code contract.

- Stack config: junk at every key path of dev and prod (type swaps, huge and odd numbers, strings,
  dates, bytes, sets, nested junk) gives a valid config or exit 2 naming a key or `file:line`;
  never exit 3 or a traceback.
- `hitless check` on mutated manifests, Kong declarative configs (in ConfigMaps) and nginx configs
  from `../shared/corpus` and `tests/policy/fixtures`: exit 0, 1 or 2 within 5 s and 300 MB,
  never a traceback.

`make test` runs each property with the small fixed budget in `SUITE_EXAMPLES`; `make fuzz` loads
the `nightly` hypothesis profile (tests/conftest.py) and runs the same properties longer.
"""

from __future__ import annotations

import copy
import json
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from hitless.cli import app
from hitless.components.config import STACK_KEYS, StackConfig
from hitless_policy.loader import InputError, load_documents, read_text
from hitless_policy.profile import PackConfig, Thresholds, TrafficProfile
from tests.conftest import ROOT, SHARED

pytestmark = pytest.mark.fuzz

runner = CliRunner()

SUITE_EXAMPLES = {
    "explain": 120,
    "preview": 15,
    "manifest": 60,
    "kong": 25,
    "nginx": 40,
    "config": 40,
}
"""Examples per property in `make test` (a fixed budget: the suite stays fast)."""


def budget(name: str) -> int:
    """Examples for property `name`: the suite's budget, or the loaded profile's when larger."""
    current = settings.default
    loaded = current.max_examples if current is not None else 0
    return max(SUITE_EXAMPLES[name], loaded) if loaded > 100 else SUITE_EXAMPLES[name]


def fuzz_settings(name: str) -> settings:
    """Hypothesis settings of one fuzz property."""
    return settings(
        max_examples=budget(name),
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )


# --------------------------------------------------------------------------------------------
# Junk values
# --------------------------------------------------------------------------------------------

ODD_NUMBERS: list[Any] = [
    0,
    -1,
    2**31,
    2**63,
    10**39,
    10**60,
    1e-320,
    5e-324,
    -0.0,
    1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
    0.5,
    True,
]
"""Numbers that broke the budget math or bounds before: huge, subnormal, infinite, NaN."""


def _nested(depth: int) -> Any:
    value: Any = "x"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


scalar_junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-1000, max_value=100_000),
    st.integers(min_value=-(10**45), max_value=10**45),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ODD_NUMBERS),
    st.text(max_size=30),
    st.integers(min_value=100, max_value=300_000).map(lambda n: "x" * n),
    st.dates(),
    st.datetimes(),
    st.binary(max_size=16),
    st.frozensets(st.integers(0, 9), max_size=3).map(set),
    st.sampled_from(["1e-320", ".inf", "NaN", "2026-01-01", "0x10", "1_000", "yes", "~", "!"]),
)
"""One junk leaf: every type and shape a YAML scalar can take, and some it should not."""

junk = st.one_of(
    scalar_junk,
    st.recursive(
        scalar_junk,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=8,
    ),
    st.integers(min_value=1, max_value=300).map(_nested),
)
"""A junk value: a scalar, a small nested structure, or deep nesting."""


def _paths(value: Any, prefix: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _model_paths(model: type[Any], prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        yield path
        annotation = field.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        for candidate in candidates:
            if isinstance(candidate, type) and hasattr(candidate, "model_fields"):
                yield from _model_paths(candidate, path)


def _stack_doc(stack: str) -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    assert isinstance(doc, dict)
    return doc


def _key_paths() -> list[tuple[str | int, ...]]:
    """Every key path of dev and prod, and every field path of the stack config model."""
    found: set[tuple[str | int, ...]] = set()
    for stack in ("dev", "prod"):
        config = _stack_doc(stack)["config"]
        for key, value in config.items():
            found.update(_paths(value, (key,)))
    for path in _model_paths(StackConfig, ()):
        found.add((f"hitless:{path[0]}", *path[1:]))
    found.update((f"hitless:{key}",) for key in STACK_KEYS)
    found.add(("gcp:project",))
    found.update([("hitless:",), ("hitless:edge:mig",), ("gcp:",), ("unnamespaced",)])
    return sorted(found, key=lambda path: tuple(str(part) for part in path))


KEY_PATHS = _key_paths()
"""Where junk goes: every key path of both stacks and of the model (defaults included)."""


def _put(config: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    """Set `path` in `config`, turning what is in the way into mappings."""
    node: Any = config
    for part in path[:-1]:
        if isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            continue
        if not isinstance(node, dict):
            return
        child = node.get(part)
        if not isinstance(child, dict | list):
            child = {}
            node[part] = child
        node = child
    last = path[-1]
    fits_list = isinstance(node, list) and isinstance(last, int) and last < len(node)
    if fits_list or isinstance(node, dict):
        node[last] = value


@st.composite
def mutated_stack(draw: st.DrawFn) -> tuple[str, str, list[tuple[str | int, ...]]]:
    """(stack name, stack file text, mutated paths) with junk at one to three key paths."""
    stack = draw(st.sampled_from(["dev", "prod"]))
    doc = _stack_doc(stack)
    paths = draw(st.lists(st.sampled_from(KEY_PATHS), min_size=1, max_size=3))
    for path in paths:
        if draw(st.booleans()) and len(path) > 1:
            parent: Any = doc["config"]
            for part in path[:-1]:
                parent = parent.get(part) if isinstance(parent, dict) else None
            if isinstance(parent, dict):
                parent.pop(path[-1], None)
                continue
        _put(doc["config"], path, draw(junk))
    return stack, yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), paths


KEY_OR_LINE = re.compile(r"(hitless|gcp):[A-Za-z_<][\w.<>]*|Pulumi\.\w+\.yaml:\d+:")
"""What an exit-2 message must name: a stack key, or the stack file and line."""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project whose stack files each example overwrites."""
    root = tmp_path_factory.mktemp("fuzz") / "project"
    (root / "stacks").mkdir(parents=True)
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, root / name)
    return root


def _assert_contract(code: int, output: str, exception: BaseException | None) -> None:
    event(f"exit {code}")
    assert exception is None or isinstance(exception, SystemExit), repr(exception)
    assert "Traceback" not in output, output[-2000:]
    assert code in (0, 1, 2), f"exit {code}: {output[-2000:]}"


class TestStackConfigFuzz:
    """Junk at any key path: a valid config, or exit 2 naming the key; never anything else."""

    @fuzz_settings("explain")
    @given(case=mutated_stack())
    def test_explain(self, project: Path, case: tuple[str, str, list[Any]]) -> None:
        stack, text, _paths = case
        (project / "stacks" / f"Pulumi.{stack}.yaml").write_text(text)
        result = runner.invoke(app, ["explain", "--stack", stack, "--root", str(project)])
        _assert_contract(result.exit_code, result.output, result.exception)
        assert result.exit_code in (0, 2)
        if result.exit_code == 2:
            assert KEY_OR_LINE.search(result.output), result.output
            assert len(result.output) < 20_000

    @fuzz_settings("preview")
    @given(case=mutated_stack())
    def test_preview(self, project: Path, case: tuple[str, str, list[Any]]) -> None:
        stack, text, _paths = case
        (project / "stacks" / f"Pulumi.{stack}.yaml").write_text(text)
        result = runner.invoke(
            app,
            ["preview", "--stack", stack, "--root", str(project), "--build", str(project / "b")],
        )
        _assert_contract(result.exit_code, result.output, result.exception)
        if result.exit_code == 2:
            assert KEY_OR_LINE.search(result.output), result.output
            assert len(result.output) < 20_000


# --------------------------------------------------------------------------------------------
# `hitless check` on mutated real-world inputs
# --------------------------------------------------------------------------------------------

MAX_SECONDS = 5.0
"""Most CPU time one `hitless check` may take on any input (not wall time: CI is shared)."""
HANG_SECONDS = 60.0
"""Wall time after which one `hitless check` counts as hung (a blocking read uses no CPU)."""
MAX_GROWTH_KIB = 300 * 1024
"""Most the process's peak memory may grow on one input (300 MB)."""
SEED_LIMIT = 60_000
"""Largest corpus file mutated (bytes): larger ones make each example slow, not more varied."""


def _corpus(*parts: str, suffixes: tuple[str, ...]) -> list[Path]:
    folder = SHARED.joinpath(*parts)
    return sorted(
        path
        for path in folder.iterdir()
        if path.suffix in suffixes and path.stat().st_size <= SEED_LIMIT
    )


def _loadable(paths: list[Path]) -> list[tuple[Path, list[Any]]]:
    """(file, documents) of each seed the loader accepts (the others are mutated as text)."""
    out: list[tuple[Path, list[Any]]] = []
    for path in paths:
        try:
            out.append((path, [doc.data for doc in load_documents(read_text(path), path)]))
        except InputError:
            continue
    return out


MANIFEST_SEEDS = [
    *_corpus("corpus", "k8s", suffixes=(".yaml", ".yml")),
    *_corpus("corpus", "synthetic", suffixes=(".yaml", ".yml", ".bin")),
    *sorted((ROOT / "tests" / "policy" / "fixtures").glob("*.yaml")),
]
"""Kubernetes manifests to mutate: real ones, hand-made edge cases, the user's seed."""
KONG_SEEDS = [
    *_corpus("corpus", "kong", suffixes=(".yaml", ".yml")),
    *_corpus("corpus", "synthetic", suffixes=(".yml",)),
]
"""Bare Kong declarative configs, wrapped in a ConfigMap for `check`."""
NGINX_SEEDS = [
    *_corpus("corpus", "nginx", suffixes=(".conf", ".tpl")),
    *_corpus("corpus", "synthetic", suffixes=(".conf",)),
]
"""nginx configs, given as tier A or tier B."""
TEXT_JUNK = [":", "{", "}", "[", "]", "&a", "*a", "!!", "|", ">", "'", '"', "%", "@", "\t", "\x00"]
"""Fragments that break YAML or nginx syntax in interesting places."""
NGINX_JUNK = [
    "proxy_read_timeout 99999999999999999999999999999999999999999d;",
    "worker_shutdown_timeout inf;",
    "keepalive_timeout 1e308;",
    "proxy_timeout nan;",
    "proxy_connect_timeout -5s;",
    "client_max_body_size 9999999999999999999999999999G;",
    "keepalive_time 1.5e-320s;",
    "client_max_body_size 9" + "9" * 400 + "m;",
    "proxy_send_timeout 9" + "9" * 400 + "s;",
    "include /dev/zero;",
    "include *;",
    "stream { server { listen 1; proxy_pass x:1; } }",
    "http { server { location / { proxy_pass http://$x; } } }",
    "upstream u { server 127.0.0.1:1 max_fails=999999999999999999999; keepalive 1e99; }",
]
"""Directives with values that broke parsing or the budget math before."""


@st.composite
def text_mutation(draw: st.DrawFn, text: str) -> str:
    """`text` with one to four edits: deletions, duplications, junk insertions, truncation."""
    for _ in range(draw(st.integers(1, 4))):
        size = len(text)
        start = draw(st.integers(0, size))
        end = draw(st.integers(start, min(size, start + 200)))
        kind = draw(st.sampled_from(["delete", "duplicate", "insert", "truncate", "number"]))
        if kind == "delete":
            text = text[:start] + text[end:]
        elif kind == "duplicate":
            text = text[:end] + text[start:end] + text[end:]
        elif kind == "insert":
            piece = draw(st.sampled_from(TEXT_JUNK) | st.text(max_size=10))
            text = text[:start] + piece + text[start:]
        elif kind == "truncate":
            text = text[:start]
        else:
            number = draw(
                st.sampled_from([*ODD_NUMBERS, "1e999", "9" * 60, "9" * 400, "-0", "0x1p9"])
            )
            text = re.sub(r"\d+", str(number), text, count=draw(st.integers(1, 3)))
    return text


@st.composite
def structured_mutation(draw: st.DrawFn, docs: list[Any]) -> str:
    """`docs` with junk at one to three paths, dumped back as a YAML stream."""
    docs = copy.deepcopy([doc for doc in docs if doc is not None] or [{}])
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(docs) - 1))
        paths = list(_paths(docs[index], ()))
        path = draw(st.sampled_from(paths))
        if not path:
            docs[index] = draw(junk)
            continue
        _put_any(docs[index], path, draw(junk))
    return yaml.safe_dump_all(docs, allow_unicode=True)


def _put_any(doc: Any, path: tuple[str | int, ...], value: Any) -> None:
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _config_map(kong_yml: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "kong-config", "namespace": "kong"},
            "data": {"kong.yml": kong_yml},
        }
    )


class _TooSlowError(BaseException):
    """Raised by the alarm when one `check` hangs; not an Exception, so no handler maps it."""


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise _TooSlowError


def run_check_bounded(args: list[str]) -> None:
    """`hitless check <args>` in process: the exit contract within 5 s and 300 MB."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    start = time.process_time()
    try:
        result = runner.invoke(app, ["check", *args, "--format", "json"])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.process_time() - start
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    _assert_contract(result.exit_code, result.output, result.exception)
    assert elapsed < MAX_SECONDS, f"{elapsed:.1f} s on {args}"
    assert growth < MAX_GROWTH_KIB, f"peak memory grew {growth // 1024} MB on {args}"
    if result.exit_code == 2:
        assert re.search(r":\d+: ", result.output), result.output


LOADABLE_MANIFESTS = _loadable(MANIFEST_SEEDS)
LOADABLE_KONG = _loadable(KONG_SEEDS)


@st.composite
def manifest_case(draw: st.DrawFn) -> str:
    """A mutated manifest stream: structured junk in a real manifest, or broken text."""
    if draw(st.booleans()) and LOADABLE_MANIFESTS:
        _path, docs = draw(st.sampled_from(LOADABLE_MANIFESTS))
        return draw(structured_mutation(docs))
    path = draw(st.sampled_from(MANIFEST_SEEDS))
    return draw(text_mutation(path.read_bytes().decode("utf-8", errors="replace")))


@st.composite
def kong_case(draw: st.DrawFn) -> str:
    """A ConfigMap whose kong.yml is a mutated real declarative config."""
    if draw(st.booleans()) and LOADABLE_KONG:
        _path, docs = draw(st.sampled_from(LOADABLE_KONG))
        return _config_map(draw(structured_mutation(docs[:1])))
    path = draw(st.sampled_from(KONG_SEEDS))
    return _config_map(draw(text_mutation(path.read_text())))


@st.composite
def nginx_case(draw: st.DrawFn) -> str:
    """A mutated nginx config: broken text, junk numbers, or a hostile directive inserted."""
    text = draw(st.sampled_from(NGINX_SEEDS)).read_text()
    if draw(st.booleans()):
        lines = text.splitlines()
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, draw(st.sampled_from(NGINX_JUNK)))
        text = "\n".join(lines)
    return draw(text_mutation(text))


class TestCheckFuzz:
    """`hitless check` on mutated inputs: exit 0/1/2 within 5 s and 300 MB, never a traceback."""

    @fuzz_settings("manifest")
    @given(text=manifest_case())
    def test_manifests(self, tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
        path = tmp_path_factory.mktemp("m") / "manifest.yaml"
        path.write_text(text)
        run_check_bounded(["-f", str(path)])

    @fuzz_settings("kong")
    @given(text=kong_case())
    def test_kong(self, tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
        path = tmp_path_factory.mktemp("k") / "kong.yaml"
        path.write_text(text)
        seed = ROOT / "tests" / "policy" / "fixtures" / "seed_rt.yaml"
        run_check_bounded(["-f", str(seed), "-f", str(path)])

    @fuzz_settings("nginx")
    @given(text=nginx_case(), tier=st.sampled_from(["--nginx-a", "--nginx-b"]))
    def test_nginx(self, tmp_path_factory: pytest.TempPathFactory, text: str, tier: str) -> None:
        assume(text.strip())
        path = tmp_path_factory.mktemp("n") / "nginx.conf"
        path.write_text(text)
        seed = ROOT / "tests" / "policy" / "fixtures" / "seed_rt.yaml"
        run_check_bounded(["-f", str(seed), tier, str(path)])


PACK_CONFIG_PATHS = [
    ("profile",),
    ("thresholds",),
    *(("profile", name) for name in TrafficProfile.model_fields),
    *(("thresholds", name) for name in Thresholds.model_fields),
]
"""Where junk goes in a `--config` document: every field of the profile and the thresholds."""


@st.composite
def pack_config_case(draw: st.DrawFn) -> str:
    """A `--config` document with junk at one to three fields, as YAML."""
    doc: dict[str, Any] = {
        "profile": PackConfig().profile.model_dump(),
        "thresholds": PackConfig().thresholds.model_dump(),
    }
    for path in draw(st.lists(st.sampled_from(PACK_CONFIG_PATHS), min_size=1, max_size=3)):
        _put(doc, path, draw(junk))
    return yaml.safe_dump(doc, allow_unicode=True)


class TestPackConfigFuzz:
    """`hitless check --config` with junk in the profile or thresholds: exit 0/1/2, no crash."""

    @fuzz_settings("config")
    @given(text=pack_config_case())
    def test_config(self, tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
        path = tmp_path_factory.mktemp("c") / "profile.yaml"
        path.write_text(text)
        seed = ROOT / "tests" / "policy" / "fixtures" / "seed_rt.yaml"
        run_check_bounded(["-f", str(seed), "--config", str(path)])


def test_seed_lists_are_not_empty() -> None:
    """The corpus is beside the checkout (CI too): an empty seed list would fuzz nothing."""
    assert len(LOADABLE_MANIFESTS) >= 20
    assert LOADABLE_KONG
    assert len(NGINX_SEEDS) >= 10


HOSTILE = [
    "yaml-bomb.yaml",
    "yaml-bomb-8-levels.yaml",
    "deep-nesting-600.yaml",
    "binary-junk.bin",
    "latin1-comment.yaml",
    "annotation-inf.yaml",
    "truncated-bookinfo-midquote.yaml",
    "top-level-list.yaml",
    "cm-kong-yml-invalid.yaml",
    "cm-kong-yml-burst-1.1.yaml",
]
"""Hand-made hostile inputs of the corpus (each file's first comment says what it is)."""

CAPPED_DRIVER = """
import json, resource, sys, time
from typer.testing import CliRunner
from hitless.cli import app
runner = CliRunner()
runner.invoke(app, ["check", "-f", sys.argv[1]])  # warm-up: imports are not the input's cost
cap = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
out = []
for path in sys.argv[3:]:
    start = time.process_time()
    result = runner.invoke(app, ["check", "-f", path])
    out.append([path, result.exit_code, time.process_time() - start, result.output[-300:]])
print(json.dumps(out))
"""
"""Runs `hitless check` on each file in one process under an address-space cap."""


def test_hostile_corpus_in_a_capped_process() -> None:
    """The corpus's hostile files, in a process capped at 300 MB more than its warm size."""
    files = [str(SHARED / "corpus" / "synthetic" / name) for name in HOSTILE]
    files.append("/dev/zero")
    seed = str(ROOT / "tests" / "policy" / "fixtures" / "seed_rt.yaml")
    warm = _warm_address_space(seed)
    result = subprocess.run(
        [sys.executable, "-c", CAPPED_DRIVER, seed, str(warm + MAX_GROWTH_KIB * 1024), *files],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for path, code, seconds, output in json.loads(result.stdout):
        assert code in (0, 1, 2), f"{path}: exit {code}: {output}"
        assert "Traceback" not in output
        assert seconds < MAX_SECONDS, f"{path}: {seconds:.1f} s"


def _warm_address_space(seed: str) -> int:
    """Bytes of address space a process has after one `check` (imports done, caches warm)."""
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from hitless.cli import app\n"
        "CliRunner().invoke(app, ['check', '-f', sys.argv[1]])\n"
        "print(open('/proc/self/statm').read().split()[0])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, seed],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    return int(result.stdout.split()[-1]) * resource.getpagesize()
