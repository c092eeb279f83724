"""`chatserver` command line: serve, manage agents and sites."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import secrets
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import orjson
import uvicorn
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from chatserver.api_keys import SCOPES, ApiKey
from chatserver.auth import ROLES, hash_password
from chatserver.config import (
    ConfigError,
    Settings,
    ensure_secret,
    settings_from_env,
    valid_site_name,
)
from chatserver.core.departments import parse_departments
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.files.service import Files
from chatserver.hub import Hub
from chatserver.log import configure_logging, get_logger
from chatserver.privacy import Erased, Person, erase_person, export_person
from chatserver.store import Store, StoreError, now_ms
from chatserver.ws_protocol import uvicorn_ws_options

log = get_logger("chatserver.cli")
T = TypeVar("T")

# Who the audit log names for changes made with this command (an operator at a shell).
CLI_ACTOR = "chatserver CLI"
DEMO_EMAIL = "admin@example.com"
_DURABILITY_WORDS = {
    "disk": "a message is acknowledged once it is fsynced",
    "replica": "a message is acknowledged once replicas have it",
    "memory": "a message is acknowledged once it is in Redis's memory",
}


def _say(text: str) -> None:
    """User-facing output of the CLI (the banner and command results), not logs."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class _Server(uvicorn.Server):
    """uvicorn's server, with the hub told before the sockets close, and a final step.

    uvicorn closes WebSockets before the app's shutdown hook runs, so the hub would be too late
    to send `reconnect`; and it re-raises SIGTERM after serving, which would skip any cleanup
    placed after ``run()`` (the embedded Redis would be left running).
    """

    def __init__(self, config: uvicorn.Config, hub: Hub, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self.hub = hub
        self.on_exit = on_exit

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # stop accepting before asking clients to go elsewhere
        await self.hub.drain()
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                self.on_exit()


def _redis_for(settings: Settings) -> tuple[str, EmbeddedRedis | None]:
    """The Redis URL to use, starting the embedded server when REDIS_URL is unset.

    If a server is already running on the embedded socket (``chatserver serve`` in another
    shell), use it rather than starting a second one on the same files.
    """
    if settings.redis_url:
        return settings.redis_url, None
    embedded = EmbeddedRedis(
        settings.data_dir / "redis", fsync="always" if settings.durability == "disk" else "everysec"
    )
    if embedded.socket_path is not None and embedded.socket_path.exists():
        import redis

        try:
            if redis.Redis.from_url(embedded.url, socket_timeout=1).ping():
                return embedded.url, None
        except redis.RedisError:
            pass
    return embedded.start(), embedded


def _with_store(settings: Settings, fn: Callable[[Store], Awaitable[T]]) -> T:
    url, embedded = _redis_for(settings)

    async def run() -> T:
        store = Store.from_url(url, settings.key_prefix)
        try:
            return await fn(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    finally:
        if embedded is not None:
            embedded.stop()


def _ensure_demo(store: Store, settings: Settings) -> Awaitable[str | None]:
    async def run() -> str | None:
        await store.ensure_site(settings.default_site)
        if await store.account_id_by_email(DEMO_EMAIL):
            path = settings.data_dir / "demo-password"
            return path.read_text().strip() if path.is_file() else None
        password = secrets.token_urlsafe(9)
        await store.create_agent(
            DEMO_EMAIL,
            "Demo Admin",
            hash_password(password),
            site=settings.default_site,
            role="admin",
            capacity=5,
        )
        path = settings.data_dir / "demo-password"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        return password

    return run()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from chatserver.app import create_app

    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    url, embedded = _redis_for(settings)

    def stop_embedded() -> None:
        if embedded is not None:
            embedded.stop()

    try:
        if args.demo:

            async def demo(store: Store) -> str | None:
                return await _ensure_demo(store, settings)

            password = asyncio.run(_one_store(url, settings, demo))
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        port = sock.getsockname()[1]
        if args.port_file:
            Path(args.port_file).write_text(str(port))
        app = create_app(settings, url, embedded=embedded)
        base = (
            settings.public_url
            or f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"
        )
        _say(f"chatserver listening on {base}")
        _say(f"  demo shop (widget): {base}/")
        _say(f"  agent console:      {base}/agent")
        _say(f"  dashboard:          {base}/dashboard (supervisors and admins)")
        _say(f"  admin:              {base}/admin")
        _say(f"  rest api:           {base}/api/v1/reference (keys: chatserver apikey add)")
        _say(f"  health:             {base}/healthz   metrics: {base}/metrics")
        if args.demo:
            _say(f"  log in as {DEMO_EMAIL} with password {password or '(see var/demo-password)'}")
        where = f"embedded, data in {settings.data_dir / 'redis'}" if embedded else "REDIS_URL"
        _say(f"  redis: {where}")
        if embedded:
            words = _DURABILITY_WORDS[settings.durability]
            _say(f"  durability: {settings.durability} ({words})")
        else:
            _say(f"  durability: {settings.durability} asked; the log and /readyz say what holds")
        config = uvicorn.Config(
            app,
            **uvicorn_ws_options(settings.max_frame_bytes),
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
            # X-Forwarded-For/-Proto count only from the configured proxies: anyone else
            # could claim any address and slip past the limits per IP.
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=settings.trusted_proxies.split() or None,
            loop="auto",
        )
        server = _Server(config, app.state.services.hub, stop_embedded)
        server.run(sockets=[sock])
    finally:
        stop_embedded()
    return 0


async def _one_store(url: str, settings: Settings, fn: Callable[[Store], Awaitable[T]]) -> T:
    store = Store.from_url(url, settings.key_prefix)
    try:
        return await fn(store)
    finally:
        await store.close()


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise ConfigError("the passwords differ")
    if len(password) < 8:
        raise ConfigError("the password must have at least 8 characters")
    return password


def cmd_agent_add(args: argparse.Namespace, settings: Settings) -> int:
    site = args.site or settings.default_site
    if not valid_site_name(site):
        raise ConfigError(f"bad site name {site!r}")
    password_hash = hash_password(_read_password(args))
    departments = parse_departments(args.departments)

    async def run(store: Store) -> str:
        agent_id = await store.create_agent(
            args.email,
            args.name or args.email.split("@")[0],
            password_hash,
            site=site,
            role=args.role,
            capacity=args.capacity,
            departments=departments,
        )
        detail = f"{args.email} as {args.role}"
        await store.audit(site, "agent_created", "", CLI_ACTOR, now_ms(), detail)
        return agent_id

    agent_id = _with_store(settings, run)
    _say(f"agent {args.email} added with id {agent_id} (site {site}, role {args.role})")
    return 0


def cmd_site_add(args: argparse.Namespace, settings: Settings) -> int:
    if not valid_site_name(args.site):
        raise ConfigError("site names are 1-40 characters of a-z, 0-9, '-' and '_'")

    async def run(store: Store) -> None:
        await store.update_site(
            args.site,
            {"name": args.name or args.site, "allowed_origins": " ".join(args.origin or ["*"])},
        )
        detail = "name, allowed_origins"
        await store.audit(args.site, "site_settings", "", CLI_ACTOR, now_ms(), detail)

    _with_store(settings, run)
    _say(f"site {args.site} saved")
    return 0


def cmd_apikey(args: argparse.Namespace, settings: Settings) -> int:
    if args.apikey_command == "add":
        site = args.site or settings.default_site
        if not valid_site_name(site):
            raise ConfigError(f"bad site name {site!r}")

        async def add(store: Store) -> tuple[str, str]:
            if await store.get_site(site) is None:
                raise ConfigError(f"no site {site!r} (chatserver site add {site})")
            made = await store.issue_api_key(site, args.name, args.scope, now_ms(), "cli")
            detail = f"{made[0]} {args.name!r} ({args.scope})"
            await store.audit(site, "api_key_created", "", CLI_ACTOR, now_ms(), detail)
            return made

        key_id, token = _with_store(settings, add)
        _say(f"API key {key_id} ({args.scope}) for site {site}; it is shown only now:")
        sys.stdout.write(token + "\n")
        return 0
    if args.apikey_command == "list":
        site = args.site or settings.default_site

        async def listing(store: Store) -> list[ApiKey]:
            return await store.site_api_keys(site)

        for key in _with_store(settings, listing):
            state = "revoked" if key.revoked_at else "active"
            used = _when(key.last_used_at) if key.last_used_at else "never"
            sys.stdout.write(f"{key.id}  {key.scope:<5}  {state:<7}  used {used}  {key.name}\n")
        return 0

    async def revoke(store: Store) -> bool:
        found = await store.api_key(args.key_id)
        if found is None:
            return False
        await store.revoke_api_key(args.key_id, now_ms())
        detail = f"{args.key_id} {found[0].name!r}"
        await store.audit(found[0].site, "api_key_revoked", "", CLI_ACTOR, now_ms(), detail)
        return True

    if not _with_store(settings, revoke):
        raise ConfigError(f"no API key {args.key_id!r}")
    _say(f"API key {args.key_id} revoked")
    return 0


def cmd_privacy(args: argparse.Namespace, settings: Settings) -> int:
    site = args.site or settings.default_site
    person = Person(args.visitor or "", args.email or "", args.user or "")
    if person.problem():
        raise ConfigError(person.problem())
    by = ("cli", "command line")
    if args.privacy_command == "export":

        async def export(store: Store) -> dict[str, object]:
            return await export_person(store, site, person, by, now_ms())

        doc = orjson.dumps(_with_store(settings, export), option=orjson.OPT_INDENT_2)
        if args.out:
            Path(args.out).write_bytes(doc + b"\n")
            _say(f"exported {person.describe()} to {args.out}")
        else:
            sys.stdout.write(doc.decode() + "\n")
        return 0
    if not args.yes:
        raise ConfigError("erasure cannot be undone: add --yes to erase")

    async def erase(store: Store) -> Erased:
        files = Files(store, settings, now_ms)  # their conversations' files go too
        return await erase_person(store, site, person, by, now_ms(), files.forget_conversation)

    done = _with_store(settings, erase)
    _say(
        f"erased {person.describe()}: {done.visitors} visitor records, "
        f"{done.conversations} conversations, {done.entries} entries"
    )
    return 0


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatserver", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--port-file", help="write the bound port here (useful with --port 0)")
    serve.add_argument("--demo", action="store_true", help="create a demo site and admin login")
    agent = sub.add_parser("agent", help="manage agents")
    agent_sub = agent.add_subparsers(dest="agent_command", required=True)
    add = agent_sub.add_parser("add", help="add an agent (password from a prompt or stdin)")
    add.add_argument("email")
    add.add_argument("--name")
    add.add_argument("--role", choices=ROLES, default="agent")
    add.add_argument("--capacity", type=int, default=3)
    add.add_argument("--site")
    add.add_argument("--departments", help="comma-separated; empty serves all")
    add.add_argument("--password-stdin", action="store_true")
    site = sub.add_parser("site", help="manage sites")
    site_sub = site.add_subparsers(dest="site_command", required=True)
    sadd = site_sub.add_parser("add", help="create or update a site")
    sadd.add_argument("site")
    sadd.add_argument("--name")
    sadd.add_argument("--origin", action="append", help="allowed origin (repeat); default *")
    apikey = sub.add_parser("apikey", help="manage REST API keys")
    apikey_sub = apikey.add_subparsers(dest="apikey_command", required=True)
    kadd = apikey_sub.add_parser("add", help="create a key (printed once)")
    kadd.add_argument("--name", required=True, help="what the key is for, e.g. CRM")
    kadd.add_argument("--scope", choices=SCOPES, default="read")
    kadd.add_argument("--site")
    klist = apikey_sub.add_parser("list", help="a site's keys")
    klist.add_argument("--site")
    krevoke = apikey_sub.add_parser("revoke", help="revoke a key at once")
    krevoke.add_argument("key_id")
    privacy = sub.add_parser("privacy", help="export or erase one person's data")
    privacy_sub = privacy.add_subparsers(dest="privacy_command", required=True)
    for name, text in (("export", "print their data as JSON"), ("erase", "erase it for good")):
        p = privacy_sub.add_parser(name, help=text)
        p.add_argument("--site")
        p.add_argument("--visitor", help="a visitor id (v_…)")
        p.add_argument("--email", help="every visitor record holding this e-mail")
        p.add_argument("--user", help="a verified user id (identity verification)")
        if name == "export":
            p.add_argument("--out", help="write the JSON here instead of to stdout")
        else:
            p.add_argument("--yes", action="store_true", help="confirm the erasure")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = ensure_secret(settings_from_env())
    except (ConfigError, OSError) as exc:
        sys.stderr.write(f"chatserver: configuration error: {exc}\n")
        return 2
    configure_logging(settings.log_level, json=settings.production)
    try:
        if args.command == "serve":
            return cmd_serve(args, settings)
        if args.command == "agent":
            return cmd_agent_add(args, settings)
        if args.command == "site":
            return cmd_site_add(args, settings)
        if args.command == "apikey":
            return cmd_apikey(args, settings)
        if args.command == "privacy":
            return cmd_privacy(args, settings)
    except ConfigError as exc:
        sys.stderr.write(f"chatserver: {exc}\n")
        return 2
    except StoreError as exc:
        sys.stderr.write(f"chatserver: {exc.detail or exc.code}\n")
        return 1
    except (RedisConnectionError, RedisTimeoutError) as exc:
        # A message, not a traceback: the usual cause is a REDIS_URL that names nothing running.
        where = redacted(settings.redis_url) if settings.redis_url else "the embedded Redis"
        sys.stderr.write(f"chatserver: cannot reach Redis at {where}: {exc}\n")
        return 1
    return 0


def redacted(url: str) -> str:
    """``url`` without the password it may carry (``user:secret@`` becomes ``user:***@``)."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, hosts = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{hosts}"


if __name__ == "__main__":
    raise SystemExit(main())
