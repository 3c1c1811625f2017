"""Time and memory of refusing hostile input at the CLI (a script, not a test).

    .venv/bin/python benchmarks/bench_input.py [--repeat N]

Each case runs `hitless` in a fresh process, as a user or CI would, and reports its exit code,
wall time (median of N runs) and peak resident memory. The cases are the ones that cost
seconds and gigabytes before the loader had limits: a ~2 kB alias bomb in a stack file
(`explain` and `preview`), the 665-byte bomb manifest of ../shared/corpus (`check`), 600 levels
of nesting, /dev/zero as a manifest. A clean `check` of a real manifest is the baseline.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
HITLESS = Path(sys.executable).parent / "hitless"
sys.path.insert(0, str(ROOT / "policy"))

from hitless_policy.loader import InputError, load_file  # noqa: E402

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


def bomb_project(folder: Path) -> Path:
    """A project copy whose dev stack file carries an alias bomb."""
    root = folder / "project"
    (root / "stacks").mkdir(parents=True)
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, root / name)
    stack = (ROOT / "stacks" / "Pulumi.dev.yaml").read_text()
    (root / "stacks" / "Pulumi.dev.yaml").write_text(stack + BOMB_KEY)
    return root


def run(args: list[str]) -> tuple[int, float, int]:
    """(exit code, seconds, peak RSS in MB) of one `hitless` process."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: become `hitless <args>` with its output discarded
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execv(str(HITLESS), [str(HITLESS), *args])  # noqa: S606 - fixed argv, no shell
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    return os.waitstatus_to_exitcode(status), elapsed, usage.ru_maxrss // 1024


def main() -> None:
    """Run every case and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = bomb_project(Path(tmp))
        stack_size = (project / "stacks" / "Pulumi.dev.yaml").stat().st_size
        synthetic = SHARED / "corpus" / "synthetic"
        cases = [
            (
                f"stack-file bomb ({stack_size} B), explain",
                ["explain", "--root", str(project)],
            ),
            (
                f"stack-file bomb ({stack_size} B), preview",
                ["preview", "--root", str(project), "--build", str(Path(tmp) / "b")],
            ),
            (
                "manifest bomb (665 B), check",
                ["check", "-f", str(synthetic / "yaml-bomb-8-levels.yaml")],
            ),
            (
                "600 levels of nesting, check",
                ["check", "-f", str(synthetic / "deep-nesting-600.yaml")],
            ),
            ("/dev/zero as a manifest, check", ["check", "-f", "/dev/zero"]),
            (
                "baseline: clean check of a real manifest",
                ["check", "-f", str(SHARED / "corpus" / "k8s" / "msdemo-frontend.yaml")],
            ),
            ("baseline: hitless --help", ["--help"]),
        ]
        print(f"{'case':48} {'exit':>4} {'median s':>9} {'peak MB':>8}")
        for label, args in cases:
            results = [run(args) for _ in range(options.repeat)]
            codes = {code for code, _, _ in results}
            seconds = statistics.median(elapsed for _, elapsed, _ in results)
            peak = max(rss for _, _, rss in results)
            print(f"{label:48} {','.join(map(str, sorted(codes))):>4} {seconds:9.2f} {peak:8d}")
        print()
        print("in process (the loader's refusal alone, no interpreter start-up):")
        for label, path in (
            ("stack-file bomb", project / "stacks" / "Pulumi.dev.yaml"),
            ("manifest bomb", synthetic / "yaml-bomb-8-levels.yaml"),
            ("600 levels of nesting", synthetic / "deep-nesting-600.yaml"),
        ):
            times = []
            for _ in range(options.repeat):
                start = time.perf_counter()
                with contextlib.suppress(InputError):
                    load_file(path)
                times.append(time.perf_counter() - start)
            print(f"  {label:46} {statistics.median(times) * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
