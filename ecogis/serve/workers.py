"""Several server processes on one port, each accepting on its own socket (Linux ``SO_REUSEPORT``).

uvicorn's own ``workers`` share one listening socket: whichever process
wakes first accepts, so the connections a browser or a client pool opens
together can all land on one worker while the other idles (measured under
the 20-user load test: one worker took every connection, 69 s of CPU against
0.9 s).  With one socket per process the kernel spreads new connections
over the processes by their address hash.

:func:`run_workers` starts the processes, restarts one that dies (a crash
in a native library must not take a bureau's server down) and stops them
all on ``SIGINT``/``SIGTERM``.  Where ``SO_REUSEPORT`` is missing (not
Linux), or for an ephemeral port, :func:`available` is false and the caller
uses uvicorn's workers.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import socket
import sys
import time

from ecogis.errors import InputError

#: Pending connections per listening socket.
BACKLOG = 2048
#: Restarts of one worker slot within :data:`RESTART_WINDOW_S` after which the server stops instead.
MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0


def available(port: int) -> bool:
    """Whether per-process sockets can be used here (Linux with ``SO_REUSEPORT`` and a fixed port)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT") and port > 0


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


def check_port_free(host: str, port: int) -> None:
    """Refuse, with a clear error, a port another program already listens on."""
    probe = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                         hint="choose another --port, or stop the program using it") from None
    finally:
        probe.close()


def _worker(app_ref: str, host: str, port: int) -> None:
    """One server process: its own socket, the app built by the factory ``app_ref`` (``module:function``)."""
    import uvicorn

    sock = _listen(host, port)
    config = uvicorn.Config(app_ref, factory=True, log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(app_ref: str, host: str, port: int, workers: int) -> int:
    """Run ``workers`` server processes on ``host:port`` until ``SIGINT``/``SIGTERM``; return the exit status."""
    check_port_free(host, port)
    ctx = mp.get_context("spawn")  # a clean interpreter per worker, as uvicorn starts its own
    stopping = False

    def stop(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
        nonlocal stopping
        stopping = True

    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    procs: list = [None] * workers
    restarts: list[list[float]] = [[] for _ in range(workers)]

    def start(i: int) -> None:
        p = ctx.Process(target=_worker, args=(app_ref, host, port), name=f"ecogis-serve-{i + 1}", daemon=False)
        p.start()
        procs[i] = p

    status = 0
    try:
        for i in range(workers):
            start(i)
        while not stopping:
            time.sleep(0.2)
            for i, p in enumerate(procs):
                if p.is_alive() or stopping:
                    continue
                now = time.monotonic()
                restarts[i] = [t for t in restarts[i] if now - t < RESTART_WINDOW_S] + [now]
                if len(restarts[i]) > MAX_RESTARTS:
                    print(f"ecogis serve: worker {i + 1} keeps dying (exit code {p.exitcode}); stopping",
                          file=sys.stderr)
                    stopping, status = True, 1
                    break
                print(f"ecogis serve: worker {i + 1} ended (exit code {p.exitcode}); starting it again",
                      file=sys.stderr)
                start(i)
    finally:
        for p in procs:
            if p is not None and p.is_alive():
                p.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        deadline = time.monotonic() + 10.0
        for p in procs:
            if p is not None:
                p.join(max(0.1, deadline - time.monotonic()))
                if p.is_alive():
                    p.kill()
                    p.join(1.0)
        for s, h in old.items():
            signal.signal(s, h)
    return status


__all__ = ["available", "check_port_free", "run_workers"]
