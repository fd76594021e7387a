"""``ecogis serve``: run the reviewer's web app; ``ecogis serve users …``: manage its accounts."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from ecogis.cli.args import float_in, int_in
from ecogis.errors import InputError


def _config(a: argparse.Namespace):
    from ecogis.serve.config import ServeConfig

    if not a.workspace:
        raise InputError("--workspace is required (the workspace the server screens against)")
    return ServeConfig(a.workspace, data_dir=a.data_dir, cookie_secure=not getattr(a, "insecure_cookies", False),
                       max_upload_mb=getattr(a, "max_upload_mb", 20.0), lang=getattr(a, "lang", "zh") or "zh",
                       result_cache=0 if getattr(a, "no_result_cache", False) else 256)


def _need_serve_extra() -> None:
    try:
        import argon2  # noqa: F401
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise InputError(f"the web app needs the 'serve' extra ({exc.name} is missing)",
                         hint="pip install 'ecogis[serve]'") from None


def check_port_free(host: str, port: int) -> None:
    """Refuse, with a clear error, a port another program already listens on."""
    import socket

    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                         hint="choose another --port, or stop the program using it") from None
    finally:
        probe.close()


def _cmd_serve(a: argparse.Namespace) -> int:
    _need_serve_extra()
    import uvicorn

    from ecogis.serve import create_app
    from ecogis.serve.accounts import Accounts

    cfg = _config(a)
    check_port_free(a.host, a.port)
    workers = a.workers if a.workers else min(2, os.cpu_count() or 1)
    # one web server process; the screenings (CPU-bound Python) go onto one queue served by `workers`
    # screening processes, so every core is used whichever connection a request came on
    app = create_app(cfg, engines=workers)
    if not Accounts(cfg.db_path).users():
        print("ecogis serve: no accounts yet; add one with "
              f"`ecogis serve users add NAME --role admin --workspace {a.workspace}`", file=sys.stderr)
    print(f"ecogis serve: http://{a.host}:{a.port}/ (workspace {a.workspace}, data {cfg.data_dir}, "
          f"{workers} screening process{'es' if workers > 1 else ''})", file=sys.stderr)
    import signal

    # uvicorn finishes the requests in flight on SIGTERM, then raises the signal again with the handler it
    # found: this one, so that a requested stop ends with status 0 (after the screening processes ended)
    old = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        uvicorn.run(app, host=a.host, port=a.port, log_level="warning")
    finally:
        signal.signal(signal.SIGTERM, old)
    return 0


def _password(a: argparse.Namespace) -> str:
    if a.password_stdin or not sys.stdin.isatty():
        pw = sys.stdin.readline().rstrip("\n")
    else:
        pw = getpass.getpass("password: ")
        if getpass.getpass("again: ") != pw:
            raise InputError("the two passwords differ")
    return pw


def _cmd_users(a: argparse.Namespace) -> int:
    _need_serve_extra()
    from ecogis.serve.accounts import Accounts

    acc = Accounts(_config(a).db_path)
    if a.users_command == "add":
        acc.add_user(a.name, a.role, _password(a), replace=a.replace)
        print(f"user {a.name} ({a.role}) saved")
    elif a.users_command == "remove":
        if not acc.remove_user(a.name):
            raise InputError(f"no user {a.name!r}")
        print(f"user {a.name} removed")
    elif a.users_command == "token":
        print(acc.new_token(a.name, a.label))
    else:
        for name, role in acc.users():
            print(f"{name}\t{role}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``serve`` command."""
    p = subparsers.add_parser(
        "serve", help="run the reviewer's web app (local, offline) or manage its users",
        description="Run the web app on a workspace: upload or draw sites, screen them, keep every screening "
                    "in the workspace.  `ecogis serve users add NAME --role reviewer|editor|admin` adds an "
                    "account (password from stdin or a prompt).")

    def common(sp: argparse.ArgumentParser, required: bool) -> None:
        sp.add_argument("--workspace", "-w", required=required, help="workspace (.gpkg or postgresql:// URL)")
        sp.add_argument("--data-dir", help="accounts and screening files (default: <workspace stem>.serve next "
                                           "to a GeoPackage, ./ecogis-serve for PostGIS)")

    common(p, False)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int_in(1, 65535), default=8765, help="port (default 8765)")
    p.add_argument("--max-upload-mb", type=float_in(0, 4096, lo_open=True), default=20.0, help="largest request body (default 20 MB)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="default interface language")
    p.add_argument("--workers", type=int_in(1, 64), default=None,
                   help="screening processes (default: one per core, at most 2)")
    p.add_argument("--no-result-cache", action="store_true",
                   help="screen every request anew (by default the server remembers its last 256 screenings: "
                        "the same input on the same data and rules is answered without screening again)")
    p.add_argument("--insecure-cookies", action="store_true",
                   help="send the session cookie over plain HTTP too (only on a trusted LAN without TLS)")
    p.set_defaults(func=_cmd_serve)
    sub = p.add_subparsers(dest="serve_command", metavar="SUBCOMMAND")
    users = sub.add_parser("users", help="list, add or remove accounts; make API tokens")
    usub = users.add_subparsers(dest="users_command", metavar="ACTION")
    add = usub.add_parser("add", help="add an account (password from stdin or a prompt)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=("reviewer", "editor", "admin"))
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--replace", action="store_true", help="reset an existing account")
    rm = usub.add_parser("remove", help="remove an account")
    rm.add_argument("name")
    tok = usub.add_parser("token", help="make an API token for NAME (printed once)")
    tok.add_argument("name")
    tok.add_argument("--label", default="api")
    ls = usub.add_parser("list", help="list the accounts")
    for sp in (add, rm, tok, ls, users):
        common(sp, False)
    users.set_defaults(func=_cmd_users)
    return p
