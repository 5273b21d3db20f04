"""The `mailsage` command: argument parsing only, then services."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from mailsage_gql import database
from mailsage_gql.errors import MailsageError
from mailsage_gql.settings import Settings

log = logging.getLogger("mailsage")


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _run_with_db(settings: Settings, body: Callable[[], Awaitable[Any]]) -> Any:
    """Run `body` with the ORM open; the embedded default migrates itself first."""

    async def runner() -> Any:
        if settings.embedded:
            await database.migrate(settings)
        async with database.database(settings):
            return await body()

    return asyncio.run(runner())


def _freeze_startup_heap() -> None:
    """Move what start-up built (modules, the schema, the ORM's models) out of the cyclic
    collector's sight: a full collection, which a large request's allocations can set off,
    then walks only what was allocated since, not all of it in the middle of a request.
    """
    gc.collect()
    gc.freeze()


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from mailsage_gql.app import create_app

    app = create_app(settings)  # refuses to start on a missing key, before migrating
    if settings.embedded:
        applied = asyncio.run(database.migrate(settings))
        if applied:
            log.info("applied %d migration(s)", len(applied))
    _freeze_startup_heap()
    log.info("serving on http://%s:%d (GraphiQL at /graphql)", args.host, args.port)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=settings.log_level,
        ws="websockets-sansio",
        lifespan="on",
    )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Lease loops alone, until SIGTERM or SIGINT; then finish in-flight work, release claims."""
    from mailsage_gql.services.engine import Engine, Wakeups
    from mailsage_gql.services.secrets import load_keyring

    keyring = load_keyring(settings)
    _freeze_startup_heap()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if settings.embedded:
            await database.migrate(settings)
        async with database.database(settings):
            wakeups = Wakeups(settings)
            await wakeups.start()
            engine = Engine(
                settings=settings, keyring=keyring, wakeups=wakeups, concurrency=args.concurrency
            )
            await engine.start()
            log.info("worker %s running; stop with SIGTERM", engine.owner)
            await stop.wait()
            await engine.stop()
            await wakeups.stop()

    asyncio.run(run())
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    applied = asyncio.run(database.migrate(settings))
    print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
    return 0


def cmd_create_account(settings: Settings, args: argparse.Namespace) -> int:
    from mailsage_gql.services import accounts

    account, issued = _run_with_db(settings, lambda: accounts.create_account(args.name))
    if args.json:
        print(json.dumps({"account_id": str(account.id), "api_key": issued.api_key}))
    else:
        print(f"account {account.id} ({account.name})")
        print(f"API key (shown once, store it now): {issued.api_key}")
    return 0


def cmd_create_api_key(settings: Settings, args: argparse.Namespace) -> int:
    from mailsage_gql.services import accounts

    issued = _run_with_db(settings, lambda: accounts.create_api_key(args.account_id))
    if args.json:
        print(json.dumps({"account_id": str(issued.account_id), "api_key": issued.api_key}))
    else:
        print(f"API key {issued.key_id} (shown once, store it now): {issued.api_key}")
    return 0


def cmd_revoke_api_key(settings: Settings, args: argparse.Namespace) -> int:
    from mailsage_gql.services import accounts

    _run_with_db(settings, lambda: accounts.revoke_api_key(args.key_id))
    print(f"revoked API key {args.key_id}")
    return 0


def cmd_rotate_secret_key(settings: Settings, args: argparse.Namespace) -> int:
    from mailsage_gql.services.secret_rotation import reseal_all_secrets
    from mailsage_gql.services.secrets import load_keyring

    keyring = load_keyring(settings)
    count = _run_with_db(settings, lambda: reseal_all_secrets(keyring))
    print(f"re-sealed {count} secret(s) with key {keyring.current_key_id}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailsage", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API (and, embedded, migrations first)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply pending migrations").set_defaults(func=cmd_migrate)

    worker = sub.add_parser("worker", help="run senders only (any number, on PostgreSQL)")
    worker.add_argument("--concurrency", type=int, default=None, help="messages in flight")
    worker.set_defaults(func=cmd_worker)

    create_account = sub.add_parser("create-account", help="create an account and its first key")
    create_account.add_argument("name")
    create_account.add_argument("--json", action="store_true")
    create_account.set_defaults(func=cmd_create_account)

    create_key = sub.add_parser("create-api-key", help="issue another API key for an account")
    create_key.add_argument("account_id")
    create_key.add_argument("--json", action="store_true")
    create_key.set_defaults(func=cmd_create_api_key)

    revoke = sub.add_parser("revoke-api-key", help="revoke an API key by its id")
    revoke.add_argument("key_id")
    revoke.set_defaults(func=cmd_revoke_api_key)

    rotate = sub.add_parser(
        "rotate-secret-key", help="re-seal every stored secret with the newest key"
    )
    rotate.set_defaults(func=cmd_rotate_secret_key)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "serve":
            # `is None`, not `or`: `--port 0` (any free port) must not fall back to the default.
            args.host = settings.host if args.host is None else args.host
            args.port = settings.port if args.port is None else args.port
        _configure_logging(settings)
        result: int = args.func(settings, args)
        return result
    except MailsageError as exc:
        print(f"mailsage: error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
