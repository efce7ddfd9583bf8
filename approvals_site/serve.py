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
it starts, by pickling it into the new process. The list here holds a ``OwnListener``, which
pickles as its address, not as a socket, and unpickles as a new listening socket: each worker,
and each replacement of one, binds its own.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from typing import Any, cast

import uvicorn
from uvicorn.supervisors import Multiprocess

APP = "approvals_site.asgi:application"


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


class OwnListener:
    """Stands for a worker's socket in the list the supervisor gives every worker it starts;
    becomes a new listening socket (``listening_socket``) in each of them."""

    def __init__(self, host: str, port: int, backlog: int) -> None:
        self.host, self.port, self.backlog = host, port, backlog

    def __reduce__(self) -> tuple[Any, tuple[str, int, int]]:
        return listening_socket, (self.host, self.port, self.backlog)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m approvals_site.serve",
        description="The dashboard's web processes: uvicorn workers, each listening on its own"
        " socket (SO_REUSEPORT), so that the kernel spreads connections evenly.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--workers",
        type=int,
        default=(os.cpu_count() or 1) + 1,
        help="worker processes (default: one more than the cores)",
    )
    parser.add_argument("--backlog", type=int, default=2048)
    parser.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="as uvicorn's (default: FORWARDED_ALLOW_IPS, else 127.0.0.1); docs/auth-proxy.md",
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
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
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


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    config = config_for(args)
    # Fail here, with the reason, when the address cannot be had (in use by a process that is
    # not in the port's SO_REUSEPORT group, or not this machine's). The probe only binds: a
    # listening one would take its share of connections and never answer them.
    try:
        bound_socket(args.host, args.port).close()
    except OSError as exc:
        sys.exit(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    config.configure_logging()
    own = cast(socket.socket, OwnListener(args.host, args.port, args.backlog))
    Multiprocess(config, sockets=[own]).run()


if __name__ == "__main__":
    main()
