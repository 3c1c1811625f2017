"""Tier D of the lab: one runtime (RT) pod as a real aiohttp server.

Run as `python -m hitless.lab.rt_server --host H --port P ...` by the lab's Deployment
controller. It has the RT's declared limits: a request timeout (503 when the work outlasts it),
a keep-alive idle timeout and a body limit (413). `GET /health` is the readiness endpoint; any
other GET answers at once; a POST reads its whole body, then works `--work-seconds`.

On SIGTERM (the kubelet's, after preStop) it stops accepting, closes idle keep-alive connections
and finishes the requests in flight, then exits; the controller SIGKILLs it at the grace end.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from typing import Any

from aiohttp import web

MIB = 1_048_576
"""Bytes per MiB."""


class Drain:
    """Which connections carry a request now, and whether the server is draining."""

    def __init__(self) -> None:
        self.busy: set[object] = set()
        self.draining = False


def build_app(
    *, name: str, work_seconds: float, request_timeout: float, max_body: int, drain: Drain
) -> web.Application:
    """The RT application: readiness, instant GETs, POSTs that read the body and then work."""

    @web.middleware
    async def track(request: web.Request, handler: Any) -> web.StreamResponse:
        # While draining, every response closes its connection (no keep-alive reuse).
        drain.busy.add(request.protocol)
        try:
            response: web.StreamResponse = await handler(request)
        finally:
            drain.busy.discard(request.protocol)
        if drain.draining:
            response.force_close()
        return response

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def get(request: web.Request) -> web.Response:
        return web.Response(text=f"{name} {request.path}\n")

    async def post(request: web.Request) -> web.Response:
        began = time.monotonic()
        size = 0
        try:
            async with asyncio.timeout(request_timeout):
                async for chunk in request.content.iter_chunked(65_536):
                    size += len(chunk)
                read = time.monotonic() - began
                await asyncio.sleep(work_seconds)
        except TimeoutError:
            print(f"{time.time():.3f} POST {request.path} 503 {size} bytes, timeout", flush=True)
            return web.Response(status=503, text=f"{name}: request timeout {request_timeout}s\n")
        took = time.monotonic() - began
        print(
            f"{time.time():.3f} POST {request.path} 200 {size} bytes "
            f"read {read:.3f} s, total {took:.3f} s",
            flush=True,
        )
        return web.Response(text=f"{name} {request.path} {size}\n")

    app = web.Application(client_max_size=max_body, middlewares=[track])
    app.router.add_get("/health", health)
    app.router.add_get("/{tail:.*}", get)
    app.router.add_post("/{tail:.*}", post)
    return app


async def serve(args: argparse.Namespace) -> None:
    """Serve until SIGTERM, then drain in-flight requests (the controller kills at grace end)."""
    drain = Drain()
    app = build_app(
        drain=drain,
        name=args.name,
        work_seconds=args.work_seconds,
        request_timeout=args.request_timeout,
        max_body=args.max_body,
    )
    runner = web.AppRunner(
        app, keepalive_timeout=args.keepalive_timeout, handle_signals=False, access_log=None
    )
    await runner.setup()
    server = runner.server
    if server is None:
        raise RuntimeError("aiohttp runner has no server after setup()")
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(server, args.host, args.port, backlog=128)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print(f"listening {args.host}:{args.port}", flush=True)
    await stop.wait()
    # Graceful stop as an app server does it: close the listener (new connects are refused),
    # close idle keep-alive connections, let each request in flight finish on its connection.
    # (aiohttp's own shutdown drops the body bytes still arriving for a request in flight.)
    listener.close()
    drain.draining = True
    for handler in server.connections:
        if handler not in drain.busy:
            handler.force_close()
    print("SIGTERM: listener closed, draining in-flight requests", flush=True)
    deadline = time.monotonic() + args.drain_seconds
    while server.connections and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    print(f"drained ({len(server.connections)} connections left), exiting", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Parse the pod's settings and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--work-seconds", type=float, required=True)
    parser.add_argument("--request-timeout", type=float, required=True)
    parser.add_argument("--keepalive-timeout", type=float, required=True)
    parser.add_argument("--max-body", type=int, required=True)
    parser.add_argument("--drain-seconds", type=float, required=True)
    asyncio.run(serve(parser.parse_args(argv)))
    sys.exit(0)


if __name__ == "__main__":
    main()
