"""`hitless verify` against a lab run: `python -m hitless.lab.verify_run SPEC OUT`.

Inside the network namespace `hitless.lab.runner` creates (as `hitless.lab.run`), it starts the
lab's chain and its rollout, and, once A's virtual address serves, runs `hitless.verify` against
it until the lab's run ends: the lab's edge on loopback is verify's real target. Writes verify's
per-request outcomes and the lab's own result as JSON to OUT.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hitless.lab.run import VIP_PORT, Lab, LabError, become_subreaper, reap, setup_namespace, vip
from hitless.lab.spec import Scenario
from hitless.verify import MAX_DURATION_SECONDS, VerifyOptions, run_verify

READY_TIMEOUT_SECONDS = 60.0
"""How long the chain may take to serve at A's address before the run fails."""


def edge_url(path: str = "/r/verify") -> str:
    """The lab's edge: A's virtual address on loopback."""
    return f"http://{vip('a')}:{VIP_PORT['a']}{path}"


async def _both(lab: Lab, spec: Scenario) -> dict[str, Any]:
    run = asyncio.ensure_future(lab.run())
    began = time.monotonic()
    while not (lab.backends["a"] and all(b.available for b in lab.backends["a"])):
        if run.done() or time.monotonic() - began > READY_TIMEOUT_SECONDS:
            await run
            raise LabError("the lab's edge never served")
        await asyncio.sleep(0.05)
    stop = asyncio.Event()
    options = VerifyOptions(
        url=edge_url(),
        tier=spec.tier.value,
        duration_seconds=MAX_DURATION_SECONDS,
        rate=spec.load.rate,
        upload_share=0,
        timeout_seconds=spec.load.client_timeout_seconds / spec.time_scale,
        seed=spec.load.seed + 1,
    )
    measured = asyncio.ensure_future(run_verify(options, stop))
    data = await run
    stop.set()
    measurement = await measured
    return {
        "verify": {
            "seconds": measurement.seconds,
            "outcomes": [asdict(o) for o in measurement.outcomes],
        },
        "lab": data,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the lab scenario SPEC with verify against its edge; write OUT. Exit 0 or 2."""
    args = sys.argv[1:] if argv is None else argv
    spec = Scenario.model_validate_json(Path(args[0]).read_text())
    out = Path(args[1])
    become_subreaper()
    lab: Lab | None = None
    try:
        setup_namespace()
        lab = Lab(spec, out.parent)
        data = asyncio.run(_both(lab, spec))
    except (LabError, OSError) as error:
        out.write_text(json.dumps({"error": str(error)}))
        return 2
    finally:
        if lab is not None:
            lab.procs.end_all()
        reap()
    out.write_text(json.dumps(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
