"""The production web server: uvicorn worker processes, each listening on a socket of its own.

Run: ``python -m approvals_site.serve --host 127.0.0.1 --port 8000 --workers 3``
(README, "Running in production"; docs/design.md, "Serving").

``uvicorn --workers N`` binds one socket in its parent and every worker accepts from it. The
kernel then wakes the worker that waited last, and that worker accepts every connection
waiting: keep-alive connections opened together land on one or two workers and stay there.
Measured on 2 cores with 16 signed-in clients, ``--workers 3`` served no more than one
process did in some runs, because one worker held all 16 connections (bench/served_pages.py).

Here each worker opens its own listening socket on the same address with ``SO_REUSEPORT``,
and the kernel spreads new connections over the listening sockets by a hash of their
addresses (Linux). Everything else is uvicorn's own supervisor (``Multiprocess``): it starts
the workers, checks they answer, replaces one that dies or hangs, and stops them all on
SIGINT or SIGTERM (SIGHUP replaces each in turn; SIGTTIN and SIGTTOU add and remove one).

How the worker gets its socket: the supervisor hands the same list of sockets to every worker
it starts, by pickling it into the new process. The list here holds an ``OwnListener``, which
pickles as its address, not as a socket, and unpickles as a new listening socket: each worker,
and each replacement of one, binds its own.

What SO_REUSEPORT also allows, and what is done against it: any process of the same user may
join the port's group and take a share of the connections. So this refuses to start while
anything answers on the address (a second instance, or workers left by one), and each worker
asks the kernel to stop it when its supervisor dies (Linux's parent-death signal), so that
none is left behind to serve old code. A worker that cannot start (a settings error, the
address taken) exits with uvicorn's start-up failure code, which stops the supervisor with
that code instead of restarting the worker forever.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib
import logging
import os
import signal
import socket
import sys
from typing import Any, cast

import uvicorn
from uvicorn.config import LOG_LEVELS, STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

# Loaded in each worker through this module's ``__getattr__`` (below), not in the supervisor.
APP = "approvals_site.serve:application"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

logger = logging.getLogger("uvicorn.error")


def __getattr__(name: str) -> Any:
    """``application``: the dashboard's ASGI app, imported on first use (in a worker). A
    failure to load is a start-up failure: the same settings would fail every restart."""
    if name != "application":
        raise AttributeError(name)
    try:
        return importlib.import_module("approvals_site.asgi").application
    except Exception:
        logger.exception("The dashboard could not start; the supervisor stops")
        sys.exit(STARTUP_FAILURE)


def bound_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port in the port's SO_REUSEPORT group, not yet listening."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A socket of its own for one worker: the kernel spreads connections over these."""
    sock = bound_socket(host, port)
    sock.listen(backlog)
    return sock


def _stop_with_supervisor(supervisor: int) -> None:
    """Have the kernel send this process SIGTERM when its supervisor dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != supervisor:  # it died before the request took hold
        sys.exit(STARTUP_FAILURE)


def worker_socket(host: str, port: int, backlog: int, supervisor: int) -> socket.socket:
    """In a new worker, as the supervisor's socket list is unpickled: the worker's socket."""
    _stop_with_supervisor(supervisor)
    try:
        return listening_socket(host, port, backlog)
    except OSError as exc:
        print(f"cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)


class OwnListener:
    """Stands for a worker's socket in the list the supervisor gives every worker it starts;
    becomes a new listening socket (``worker_socket``) in each of them."""

    def __init__(self, host: str, port: int, backlog: int) -> None:
        self.host, self.port, self.backlog = host, port, backlog
        self.supervisor = os.getpid()

    def __reduce__(self) -> tuple[Any, tuple[str, int, int, int]]:
        return worker_socket, (self.host, self.port, self.backlog, self.supervisor)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m approvals_site.serve",
        description="The dashboard's web processes: uvicorn workers, each listening on its own"
        " socket (SO_REUSEPORT), so that the kernel spreads connections over all of them.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument(
        "--workers",
        type=int,
        default=(os.cpu_count() or 1) + 1,
        help="worker processes (one more than this machine's cores)",
    )
    parser.add_argument(
        "--backlog", type=int, default=2048, help="connections each worker's socket holds"
    )
    parser.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="peers trusted for X-Forwarded-For, as uvicorn's (unset: FORWARDED_ALLOW_IPS,"
        " else 127.0.0.1); docs/auth-proxy.md",
    )
    parser.add_argument(
        "--no-proxy-headers",
        dest="proxy_headers",
        action="store_false",
        help="ignore X-Forwarded-For and X-Forwarded-Proto (docs/auth-proxy.md)",
    )
    parser.add_argument(
        "--access-log", action="store_true", help="log each request (the proxy usually does)"
    )
    parser.add_argument("--log-level", default="info", choices=list(LOG_LEVELS))
    args = parser.parse_args(argv)
    args.host = args.host.removeprefix("[").removesuffix("]")  # "[::1]" as in a URL
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if not 0 < args.port < 65536:
        parser.error("--port must be 1-65535 (each worker binds it: 0 would give each its own)")
    return args


def config_for(args: argparse.Namespace) -> uvicorn.Config:
    return uvicorn.Config(
        APP,
        host=args.host,
        port=args.port,
        workers=args.workers,
        backlog=args.backlog,
        lifespan="on",
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        access_log=args.access_log,
        log_level=args.log_level,
    )


def refusal(host: str, port: int) -> str | None:
    """Why the address cannot be served from here, or None."""
    # Something answering there already (another instance, or workers it left) would share
    # the connections with these workers: SO_REUSEPORT lets it.
    nearby = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    try:
        with socket.create_connection((nearby, port), timeout=1):
            return (
                f"something already answers on {host}:{port} (another instance, or workers"
                " left by one): stop it first"
            )
    except OSError:
        pass
    # The address is not this machine's, or a process outside the port's SO_REUSEPORT group
    # holds it. The probe only binds: listening, it would take connections and never answer.
    try:
        bound_socket(host, port).close()
    except OSError as exc:
        return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    config = config_for(args)
    problem = refusal(args.host, args.port)
    if problem:
        sys.exit(problem)
    config.configure_logging()
    shown = f"[{args.host}]" if ":" in args.host else args.host
    logger.info(
        "Serving on http://%s:%d with %d workers, a socket each", shown, args.port, args.workers
    )
    own = cast(socket.socket, OwnListener(args.host, args.port, args.backlog))
    supervisor = Multiprocess(config, sockets=[own])
    supervisor.run()
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        sys.exit(STARTUP_FAILURE)


if __name__ == "__main__":
    main()
