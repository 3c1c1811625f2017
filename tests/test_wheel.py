"""The library as another project gets it: a wheel built from the repository, installed into a
fresh virtualenv with its dependencies from the package index, used with nothing of the
repository on `sys.path`.

The module fixture copies the repository (tracked and new files, symlinks kept as a clone has
them) to a temporary folder, builds the wheel there with `pip wheel` (the build backend comes
from pyproject's `build-system`), creates `python -m venv` and installs the wheel into it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
"""The project's metadata."""
VERSION: str = PYPROJECT["project"]["version"]
"""The one source of the version."""
SKIP = shutil.ignore_patterns(
    ".git",
    ".venv*",
    "venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    ".benchmarks",
)
"""What a fresh clone does not have (virtualenvs, build output, caches)."""
TOP_LEVEL = {"hitless", "hitless_policy"}
"""The only import names the distribution may install: nothing another project could own."""


@dataclass(frozen=True)
class Installed:
    """The built wheel and the virtualenv it was installed into."""

    wheel: Path
    """The wheel file."""
    venv: Path
    """The fresh virtualenv."""
    workdir: Path
    """An empty folder outside the repository to run commands from."""

    def python(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the venv's Python in isolated mode (`-I`: no script folder, no env, no user site)."""
        return subprocess.run(
            [str(self.venv / "bin" / "python"), "-I", *args],
            cwd=self.workdir,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """Build the wheel from a copy of the repository and install it into a fresh venv."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    shutil.copytree(ROOT, source, symlinks=True, ignore=SKIP)
    dist = base / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), "."],
        cwd=source,
        check=True,
        timeout=600,
    )
    (wheel,) = dist.glob("hitless-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        timeout=1200,
    )
    workdir = base / "elsewhere"
    workdir.mkdir()
    yield Installed(wheel=wheel, venv=venv, workdir=workdir)
    shutil.rmtree(venv)  # some 600 MB (pulumi-gcp); pytest keeps recent temp folders


def _names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def _source_packages() -> set[str]:
    """Every package folder of the source trees, as an import name."""
    found: set[str] = set()
    roots = {"hitless": ROOT / "hitless", "hitless_policy": ROOT / "policy" / "hitless_policy"}
    for name, folder in roots.items():
        # `hitless/components` is a symlink to the top-level `components/`: follow it.
        for current, dirs, files in os.walk(folder, followlinks=True):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            if "__init__.py" in files:
                relative = Path(current).relative_to(folder)
                found.add(".".join([name, *relative.parts]))
    return found


class TestWheelContents:
    """The wheel holds the library and its type markers, and nothing else."""

    def test_version_in_name(self, installed: Installed) -> None:
        assert installed.wheel.name == f"hitless-{VERSION}-py3-none-any.whl"

    def test_no_tests_or_build_output(self, installed: Installed) -> None:
        names = _names(installed.wheel)
        assert not [n for n in names if n.startswith(("tests/", "build/", "benchmarks/"))]
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]

    def test_every_subpackage(self, installed: Installed) -> None:
        names = set(_names(installed.wheel))
        packages = _source_packages()
        assert {"hitless.components", "hitless.lab", "hitless.package"} <= packages
        assert {"hitless_policy.extract", "hitless_policy.rules"} <= packages
        missing = {p for p in packages if f"{p.replace('.', '/')}/__init__.py" not in names}
        assert missing == set(), f"subpackages missing from the wheel: {sorted(missing)}"

    def test_symlinked_components_are_real_files(self, installed: Installed) -> None:
        assert (ROOT / "hitless" / "components").is_symlink()
        with zipfile.ZipFile(installed.wheel) as archive:
            info = archive.getinfo("hitless/components/chain.py")
            assert not stat.S_ISLNK(info.external_attr >> 16)
            text = archive.read(info).decode()
        assert text == (ROOT / "components" / "chain.py").read_text()
        expected = {f"hitless/components/{p.name}" for p in (ROOT / "components").glob("*.py")}
        assert expected <= set(_names(installed.wheel))

    def test_type_markers(self, installed: Installed) -> None:
        names = set(_names(installed.wheel))
        assert {"hitless/py.typed", "hitless_policy/py.typed"} <= names

    def test_only_our_top_level_names(self, installed: Installed) -> None:
        with zipfile.ZipFile(installed.wheel) as archive:
            record = archive.read(f"hitless-{VERSION}.dist-info/RECORD").decode()
            top_level = archive.read(f"hitless-{VERSION}.dist-info/top_level.txt").decode()
        tops = {line.split(",", 1)[0].split("/", 1)[0] for line in record.splitlines() if line}
        assert tops - {f"hitless-{VERSION}.dist-info"} == TOP_LEVEL
        assert set(top_level.split()) == TOP_LEVEL


class TestFreshVenv:
    """Installed with its dependencies, the library imports and runs without the repository."""

    def test_imports_from_the_venv(self, installed: Installed) -> None:
        result = installed.python(
            "-c",
            "import sys, hitless, hitless.components.chain, hitless_policy.pack, hitless.package;"
            "print(hitless.__file__); print(hitless_policy.pack.__file__);"
            "print(hitless.components.chain.__file__); print(sys.path)",
        )
        assert result.returncode == 0, result.stderr
        *files, path = result.stdout.splitlines()
        site = str(installed.venv)
        assert all(f.startswith(site) for f in files), files
        assert str(ROOT) not in path

    def test_cli_help_and_version(self, installed: Installed) -> None:
        cli = str(installed.venv / "bin" / "hitless")
        where = installed.workdir
        helped = subprocess.run([cli, "--help"], cwd=where, capture_output=True, check=False)
        assert helped.returncode == 0, helped.stderr
        version = subprocess.run(
            [cli, "--version"], cwd=where, capture_output=True, text=True, check=False
        )
        assert version.returncode == 0
        assert version.stdout.strip() == f"hitless {VERSION}"

    def test_dependencies_consistent(self, installed: Installed) -> None:
        result = subprocess.run(
            [str(installed.venv / "bin" / "python"), "-m", "pip", "check"],
            cwd=installed.workdir,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout

    def test_types_reach_a_consumer(self, installed: Installed) -> None:
        """mypy, pointed at the venv, reads the installed types through `py.typed`."""
        consumer = installed.workdir / "consumer.py"
        consumer.write_text(
            "from hitless import package_version\n"
            "from hitless_policy.addresses import GOOGLE_FRONTEND_RANGES\n"
            "version: int = package_version()\n"
            "reveal_type(GOOGLE_FRONTEND_RANGES)\n"
        )
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mypy",
                "--python-executable",
                str(installed.venv / "bin" / "python"),
                "--no-incremental",
                "--follow-imports=silent",
                str(consumer),
            ],
            cwd=installed.workdir,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        # The wrong annotation is caught, which only the installed types can tell.
        assert 'Incompatible types in assignment (expression has type "str"' in result.stdout
        assert "IPv4Network" in result.stdout
        assert "py.typed" not in result.stdout
        assert "import-not-found" not in result.stdout
        assert "import-untyped" not in result.stdout

    def test_component_package_served_from_the_wheel(self, installed: Installed) -> None:
        """`package/__main__.py` run by the venv's Python serves the schema over gRPC."""
        out = installed.workdir / "schema.json"
        subprocess.run(
            [
                "unshare",
                "-rn",
                "sh",
                "-c",
                'ip link set lo up && exec "$0" -m tests.package_client "$1" "$2"',
                sys.executable,
                str(installed.venv / "bin" / "python"),
                str(out),
            ],
            cwd=ROOT,
            check=True,
            timeout=300,
        )
        answer = json.loads(out.read_text())
        assert answer["version"] == VERSION
        assert "hitless:index:Chain" in answer["schema"]["resources"]
