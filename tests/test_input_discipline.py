"""Input discipline: each cause of a crash found by fuzzing, fixed at its root, through the CLI.

The exit codes are the contract: 0 clean, 1 a mandatory rule fails, 2 an input is wrong (with
`file:line` or `hitless:<key> = <value>`), 3 an internal error (one line, the traceback only
with `--debug`). A crash never exits 1.
"""

from __future__ import annotations

import os
import runpy
import time
from pathlib import Path
from typing import Any

import annotated_types
import pytest
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from typer.testing import CliRunner

from hitless import cli
from hitless.cli import app
from hitless.components.config import (
    StackConfig,
    StackConfigError,
    load_provider_config,
    load_stack_config,
    shown,
)
from hitless_policy.extract.props import Props
from hitless_policy.facts import Unknown
from hitless_policy.loader import InputError
from hitless_policy.profile import PackConfig
from tests.conftest import ROOT, SHARED, Runner, hitless_values, stack_values
from tests.test_cli import copy_project

runner = CliRunner()

BOMB_KEY = """  hitless:bomb:
    a: &a ["x","x","x","x","x","x","x","x","x"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
    i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""
"""A 'billion laughs' stack key: 9 levels of 9 aliases, 387 million nodes once expanded."""


def stack_path(root: Path, stack: str = "dev") -> Path:
    """The copied project's stack file."""
    return root / "stacks" / f"Pulumi.{stack}.yaml"


def set_stack_value(root: Path, dotted: str, value: Any, stack: str = "dev") -> None:
    """Set `hitless:<dotted key>` (or a whole `gcp:`/`hitless:` key) in a copied stack file."""
    path = stack_path(root, stack)
    doc = yaml.safe_load(path.read_text())
    top, *rest = dotted.split(".")
    if not rest:
        doc["config"][top] = value
    else:
        node = doc["config"].setdefault(top, {})
        for part in rest[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            node[int(rest[-1])] = value
        else:
            node[rest[-1]] = value
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def preview(root: Path, tmp_path: Path, *extra: str) -> tuple[int, str]:
    """`hitless preview --stack dev` on a copied project: exit code and everything printed."""
    result = runner.invoke(
        app,
        [*extra, "preview", "--stack", "dev", "--root", str(root), "--build", str(tmp_path / "b")],
    )
    return result.exit_code, result.output


def assert_wrong_input(code: int, output: str, *expected: str) -> None:
    """Exit 2, a message naming what is wrong, no traceback, nothing huge echoed."""
    assert code == 2, output
    assert "Traceback" not in output
    assert "internal error" not in output
    for text in expected:
        assert text in output, output
    assert len(output) < 4000, f"{len(output)} characters printed"


# --------------------------------------------------------------------------------------------
# The exit-code contract itself
# --------------------------------------------------------------------------------------------


class TestExitContract:
    """`ContractGroup` maps whatever a command lets out: wrong input 2, a bug 3, never 1."""

    def test_help_states_the_codes(self) -> None:
        result = runner.invoke(app, ["--help"])
        assert result.exit_code == 0
        flat = " ".join(result.output.replace("│", " ").split())
        for text in ("1 a mandatory rule fails", "2 an input is wrong", "3 an internal"):
            assert text in flat

    def test_readme_states_the_codes(self) -> None:
        readme = " ".join((ROOT / "README.md").read_text().split())
        for code in ("`0` clean", "`1` a mandatory rule fails", "`2` an input is wrong", "`3` an"):
            assert code in readme
        assert "--debug" in readme

    def test_crash_is_exit_3_one_line(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def boom(*_args: object, **_kwargs: object) -> None:
            raise ZeroDivisionError("division by zero in the budget")

        monkeypatch.setattr("hitless.explain.explain", boom)
        result = runner.invoke(app, ["explain", "--stack", "dev", "--root", str(ROOT)])
        assert result.exit_code == cli.INTERNAL_ERROR
        lines = result.output.strip().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith("hitless: internal error: ZeroDivisionError:")
        assert "report it to" in lines[0]
        assert "--debug" in lines[0]
        assert "Traceback" not in result.output

    def test_debug_prints_the_traceback(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def boom(*_args: object, **_kwargs: object) -> None:
            raise ZeroDivisionError("division by zero in the budget")

        monkeypatch.setattr("hitless.explain.explain", boom)
        result = runner.invoke(app, ["--debug", "explain", "--stack", "dev", "--root", str(ROOT)])
        assert result.exit_code == cli.INTERNAL_ERROR
        assert "Traceback" in result.output
        assert "in boom" in result.output

    def test_escaped_input_error_is_exit_2(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        def refuse(*_args: object, **_kwargs: object) -> None:
            raise InputError("team.yaml", 7, "not a Kubernetes object")

        team = tmp_path / "team.yaml"
        team.write_text("kind: Deployment\n")
        monkeypatch.setattr("hitless.check.check", refuse)
        result = runner.invoke(app, ["check", "-f", str(team)])
        assert result.exit_code == cli.BAD_INPUT
        assert result.output.strip() == "team.yaml:7: not a Kubernetes object"

    def test_commands_added_later_inherit_it(self) -> None:
        @app.command("crash-for-test")
        def crash() -> None:
            raise KeyError("a command added by another module")

        try:
            result = runner.invoke(app, ["crash-for-test"])
        finally:
            app.registered_commands.pop()
        assert result.exit_code == cli.INTERNAL_ERROR
        assert "internal error: KeyError" in result.output

    def test_usage_error_is_exit_2(self) -> None:
        result = runner.invoke(app, ["check", "--no-such-option"])
        assert result.exit_code == cli.BAD_INPUT
        assert "--no-such-option" in result.output

    def test_nothing_to_check_is_exit_2(self) -> None:
        result = runner.invoke(app, ["check"])
        assert result.exit_code == cli.BAD_INPUT
        assert "nothing to check: give -f" in result.output


# --------------------------------------------------------------------------------------------
# Stack files: each cause, through `hitless preview`
# --------------------------------------------------------------------------------------------


class TestStackFileCauses:
    """Stack files that crashed `hitless preview` now exit 2 with the key or file:line."""

    def test_plain_string_for_a_structured_key(self, tmp_path: Path) -> None:
        root = copy_project(tmp_path)
        set_stack_value(root, "hitless:edge", "nginx")
        code, output = preview(root, tmp_path)
        assert_wrong_input(code, output, 'hitless:edge = "nginx"', "valid dictionary")

    def test_plain_string_inside_a_structured_key(self, tmp_path: Path) -> None:
        root = copy_project(tmp_path)
        set_stack_value(root, "hitless:runtimes.0.autoscaling", "auto")
        code, output = preview(root, tmp_path)
        assert_wrong_input(code, output, 'hitless:runtimes.0.autoscaling = "auto"')

    def test_date_where_a_number_belongs(self, tmp_path: Path) -> None:
        root = copy_project(tmp_path)
        path = stack_path(root)
        path.write_text(
            path.read_text() + "  hitless:thresholds:\n    margin_seconds: 2026-01-01\n"
        )
        code, output = preview(root, tmp_path)
        assert_wrong_input(code, output, 'hitless:thresholds.margin_seconds = "2026-01-01"')

    @pytest.mark.parametrize(
        ("tagged", "what"),
        [("!!binary aGVsbG8=", "binary data"), ("!!set {a, b}", "a set")],
    )
    def test_non_json_tags(self, tmp_path: Path, tagged: str, what: str) -> None:
        root = copy_project(tmp_path)
        path = stack_path(root)
        text = path.read_text()
        line = text.splitlines().index("    - name: rt") + 2
        path.write_text(text.replace("    - name: rt\n", f"    - name: rt\n      x: {tagged}\n"))
        code, output = preview(root, tmp_path)
        assert_wrong_input(code, output, f"Pulumi.dev.yaml:{line}: {what}")

    def test_non_utf8_byte(self, tmp_path: Path) -> None:
        root = copy_project(tmp_path)
        path = stack_path(root)
        path.write_bytes(path.read_bytes().replace(b"# dev: one zone", b"# d\xe9v: one zone"))
        code, output = preview(root, tmp_path)
        assert_wrong_input(code, output, "Pulumi.dev.yaml:1: byte 0xe9 is not UTF-8")

    def test_deep_nesting(self, tmp_path: Path) -> None:
        root = copy_project(tmp_path)
        path = stack_path(root)
        path.write_text(path.read_text() + "  hitless:deep: " + "[" * 3000 + "]" * 3000 + "\n")
        code, output = preview(root, tmp_path)
        assert_wrong_input(code, output, "Pulumi.dev.yaml:", "nested deeper than")

    def test_missing_gcp_project(self, tmp_path: Path) -> None:
        root = copy_project(tmp_path)
        path = stack_path(root)
        path.write_text(path.read_text().replace("  gcp:project: hitless-dev\n", ""))
        code, output = preview(root, tmp_path)
        assert_wrong_input(code, output, "gcp:project is required and missing", "Fix:")
        assert not (tmp_path / "b").exists(), "nothing is written for a stack that is refused"

    def test_missing_gcp_project_stops_before_any_resource(self, capture: Runner) -> None:
        config = {k: v for k, v in stack_values("dev").items() if k != "gcp:project"}
        errors: list[StackConfigError] = []

        def program() -> None:
            try:
                runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
            except StackConfigError as error:
                errors.append(error)

        result = capture(program, preview=True, config=config)
        assert errors, "the program must refuse the stack"
        assert result.resources == [], "no resource may be registered before the check"

    @pytest.mark.parametrize("project", ["Hitless_Dev", "ab", "x" * 5000])
    def test_bad_gcp_project(self, project: str) -> None:
        with pytest.raises(StackConfigError, match="gcp:project = ") as raised:
            load_provider_config({"project": project}, "dev")
        assert len(str(raised.value)) < 600

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("hitless:profile.min_client_mbps", int("9" * 300)),
            ("hitless:profile.min_client_mbps", 1e-320),
            ("hitless:profile.min_client_mbps", float("inf")),
            ("hitless:profile.internal_mbps", float("nan")),
            ("hitless:profile.max_body_mib", float("-inf")),
            ("hitless:thresholds.min_maintenance_block_hours", 1e308),
            ("hitless:thresholds.kong_max_connect_timeout_ms", 10**30),
            ("hitless:runtimes.0.kong.read_timeout_ms", 10**30),
            ("hitless:runtimes.0.max_body_mib", 10**15),
        ],
    )
    def test_numbers_out_of_range(self, tmp_path: Path, key: str, value: float) -> None:
        root = copy_project(tmp_path)
        path = stack_path(root)
        set_stack_value(root, key, 0)
        text = path.read_text()
        literal = {float("inf"): ".inf", float("-inf"): "-.inf"}.get(value)
        if literal is None:
            literal = ".nan" if value != value else str(value)  # noqa: PLR0124 - NaN test
        field = key.rsplit(".", 1)[1]
        path.write_text(text.replace(f"{field}: 0\n", f"{field}: {literal}\n"))
        code, output = preview(root, tmp_path)
        if len(literal) > 40:  # the loader refuses it before any model sees it
            assert_wrong_input(code, output, "Pulumi.dev.yaml:", "integer of 300 digits")
        else:
            assert_wrong_input(code, output, f"{key} = ")

    def test_huge_value_is_clipped(self, tmp_path: Path) -> None:
        root = copy_project(tmp_path)
        set_stack_value(root, "hitless:platform.chain", "x" * 200_000)
        code, output = preview(root, tmp_path)
        assert_wrong_input(code, output, "hitless:platform.chain = ")

    def test_huge_zone_is_clipped(self, tmp_path: Path) -> None:
        root = copy_project(tmp_path)
        set_stack_value(root, "hitless:platform.zones", ["y" * 200_000])
        code, output = preview(root, tmp_path)
        assert_wrong_input(code, output, "hitless:platform: zones: 'yyy", "(200002 characters)")

    def test_huge_unknown_key_value_is_clipped(self) -> None:
        values = {**hitless_values("dev"), "edgee": {"k": ["v" * 100_000] * 100}}
        with pytest.raises(StackConfigError, match="did you mean hitless:edge") as raised:
            load_stack_config(values, "dev")
        assert len(str(raised.value)) < 1000

    def test_fifo_stack_file(self, tmp_path: Path) -> None:
        root = copy_project(tmp_path)
        path = stack_path(root)
        path.unlink()
        os.mkfifo(path)
        code, output = preview(root, tmp_path)
        assert_wrong_input(code, output, "Pulumi.dev.yaml:0: not a regular file")

    def test_dev_zero_stack_file(self, tmp_path: Path) -> None:
        root = copy_project(tmp_path)
        path = stack_path(root)
        path.unlink()
        path.symlink_to("/dev/zero")
        code, output = preview(root, tmp_path)
        assert_wrong_input(code, output, "Pulumi.dev.yaml:0: not a regular file")


def test_shown_renders_only_what_it_prints() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    assert len(shown(deep)) == 80
    assert shown(10**5000) == "<integer of about 5001 digits>"
    assert shown({"a": [1, 2.5, None, True]}) == '{"a": [1, 2.5, null, true]}'


# --------------------------------------------------------------------------------------------
# Manifests and files given to `hitless check`
# --------------------------------------------------------------------------------------------


class TestCheckInputs:
    """`hitless check` on files that hung or crashed it."""

    @pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e999", "9" * 400])
    def test_non_finite_annotation_is_not_judged(self, tmp_path: Path, value: str) -> None:
        text = (SHARED / "corpus" / "synthetic" / "annotation-inf.yaml").read_text()
        path = tmp_path / "rt.yaml"
        path.write_text(text.replace('"inf"', f'"{value}"'))
        result = runner.invoke(app, ["check", "-f", str(path), "--format", "json"])
        assert result.exit_code in (0, 1), result.output
        assert "Traceback" not in result.output

    @pytest.mark.parametrize("value", ["inf", "nan", "1e999", 10**400])
    def test_props_numbers_are_finite(self, value: object) -> None:
        props = Props({"metadata": {"annotations": {"hitless.dev/max-body-mib": value}}})
        number = props.num("metadata", "annotations", "hitless.dev/max-body-mib", default=0)
        assert isinstance(number, Unknown)
        assert "is not a number" in str(number)

    @pytest.mark.parametrize(
        "command",
        [
            ["kong", "quit", "--wait=inf"],
            ["kong", "quit", "--wait", "nan"],
            ["kong", "quit", "--timeout=1e999"],
            ["sh", "-c", "sleep " + "9" * 400],
        ],
    )
    def test_non_finite_prestop_is_not_judged(self, tmp_path: Path, command: list[str]) -> None:
        kong = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "kong"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "kong"}},
                "template": {
                    "metadata": {"labels": {"app": "kong"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "proxy",
                                "image": "kong:3.9.1",
                                "lifecycle": {"preStop": {"exec": {"command": command}}},
                            }
                        ]
                    },
                },
            },
        }
        path = tmp_path / "kong.yaml"
        path.write_text(yaml.safe_dump(kong))
        seed = ROOT / "tests" / "policy" / "fixtures" / "seed_rt.yaml"
        result = runner.invoke(app, ["check", "-f", str(path), "-f", str(seed), "--format", "json"])
        assert result.exit_code in (0, 1), result.output
        assert "unreadable" in result.output

    @pytest.mark.parametrize(
        "directive",
        ["client_max_body_size {n}m;", "proxy_read_timeout {n}s;", "keepalive_time {n};"],
    )
    def test_huge_nginx_numbers(self, tmp_path: Path, directive: str) -> None:
        conf = tmp_path / "a.conf"
        conf.write_text(
            "events {}\nhttp {\n  "
            + directive.format(n="9" * 400)
            + "\n  server { listen 80; location / { proxy_pass http://10.0.0.1:80; } }\n}\n"
        )
        seed = ROOT / "tests" / "policy" / "fixtures" / "seed_rt.yaml"
        result = runner.invoke(app, ["check", "-f", str(seed), "--nginx-a", str(conf)])
        assert result.exit_code in (0, 1, 2), result.output
        assert "Traceback" not in result.output
        assert "internal error" not in result.output
        assert "9" * 100 not in result.output

    def test_fifo(self, tmp_path: Path) -> None:
        fifo = tmp_path / "pipe.yaml"
        os.mkfifo(fifo)
        result = runner.invoke(app, ["check", "-f", str(fifo)])
        assert_wrong_input(result.exit_code, result.output, "pipe.yaml:0: not a regular file")

    def test_dev_zero(self) -> None:
        result = runner.invoke(app, ["check", "-f", "/dev/zero"])
        assert_wrong_input(result.exit_code, result.output, "/dev/zero:0: not a regular file")

    def test_dev_zero_as_nginx_config(self) -> None:
        manifest = str(ROOT / "tests" / "policy" / "fixtures" / "seed_rt.yaml")
        result = runner.invoke(app, ["check", "-f", manifest, "--nginx-a", "/dev/zero"])
        assert_wrong_input(result.exit_code, result.output, "/dev/zero:0: not a regular file")


# --------------------------------------------------------------------------------------------
# YAML bombs: refused at the CLI in well under a second
# --------------------------------------------------------------------------------------------


class TestBombs:
    """The issue's bombs cost 24 s / 1.9 GB (stack file) and 72 s / 1.2 GB (manifest)."""

    def test_stack_file_bomb(self, tmp_path: Path) -> None:
        root = copy_project(tmp_path)
        path = stack_path(root)
        path.write_text(path.read_text() + BOMB_KEY)
        assert path.stat().st_size < 2500, "a stack file of about 2 kB"
        for command in ("preview", "explain"):
            start = time.perf_counter()
            result = runner.invoke(app, [command, "--stack", "dev", "--root", str(root)])
            elapsed = time.perf_counter() - start
            assert_wrong_input(result.exit_code, result.output, "Pulumi.dev.yaml:", "alias bomb")
            assert elapsed < 1.0, f"{command}: {elapsed:.2f} s"

    def test_manifest_bomb(self) -> None:
        bomb = SHARED / "corpus" / "synthetic" / "yaml-bomb-8-levels.yaml"
        assert bomb.stat().st_size == 665
        start = time.perf_counter()
        result = runner.invoke(app, ["check", "-f", str(bomb)])
        elapsed = time.perf_counter() - start
        assert_wrong_input(result.exit_code, result.output, "yaml-bomb-8-levels.yaml:2:")
        assert elapsed < 1.0, f"{elapsed:.2f} s"


@pytest.mark.parametrize("rate", ["inf", "nan", "1e308", "0"])
def test_simulate_rate_bounded(rate: str) -> None:
    """A rate that would simulate forever (every request is an event) is a wrong input."""
    result = runner.invoke(app, ["simulate", "--stack", "dev", "--root", str(ROOT), "--rate", rate])
    assert result.exit_code == cli.BAD_INPUT, result.output
    assert "--rate" in result.output


def _numeric_fields(model: type[BaseModel], prefix: str) -> list[tuple[str, FieldInfo]]:
    """(dotted key, field) of every int or float field of `model` and its nested models."""
    out: list[tuple[str, FieldInfo]] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}.{name}"
        annotation = field.annotation
        if annotation in (int, float):
            out.append((key, field))
        for inner in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                out.extend(_numeric_fields(inner, key))
    return out


NUMERIC_FIELDS = [
    *_numeric_fields(StackConfig, "hitless:"),
    *_numeric_fields(PackConfig, "pack-config:"),
]


@pytest.mark.parametrize(("key", "field"), NUMERIC_FIELDS, ids=[key for key, _ in NUMERIC_FIELDS])
def test_every_number_is_bounded(key: str, field: FieldInfo) -> None:
    """No number reaches the budget math unbounded: each has a floor and a ceiling."""
    lower = [m for m in field.metadata if isinstance(m, annotated_types.Ge | annotated_types.Gt)]
    upper = [m for m in field.metadata if isinstance(m, annotated_types.Le | annotated_types.Lt)]
    assert lower, f"{key} has no lower bound"
    assert upper, f"{key} has no upper bound"


def test_numeric_fields_found() -> None:
    assert len(NUMERIC_FIELDS) > 80
