"""Settings from environment variables (and a `.env` file), validated once at start.

Every setting has one environment variable; `docs/configuration.md` and the README table list
them. Invalid values stop the server with a message that names the variable.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from ipaddress import ip_network
from pathlib import Path
from urllib.parse import urlparse

from chatserver.redis_url import parse_redis_url


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the variable and what it accepts."""


def load_dotenv(path: Path) -> dict[str, str]:
    """Read KEY=VALUE lines; `#` comments and surrounding quotes are allowed."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{path}:{lineno}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    redis_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path("var"))
    secret_key: str = ""
    environment: str = "development"
    log_level: str = "info"
    default_site: str = "demo"
    public_url: str | None = None
    max_frame_bytes: int = 16 * 1024
    max_message_length: int = 4000
    presence_ttl: int = 30
    session_ttl: int = 12 * 3600
    visitor_token_ttl: int = 90 * 24 * 3600
    outbound_queue: int = 512
    frames_per_second: float = 20.0
    frame_burst: int = 60
    key_prefix: str = "cs"
    # Previous secret keys: visitor tokens they signed still verify (a key rotation).
    old_secret_keys: tuple[str, ...] = ()
    # Peers whose X-Forwarded-For names the client (the TLS proxy); empty: trust no header.
    trusted_proxies: str = ""
    # Abuse limits kept in Redis (see chatserver/limits.py and docs/security.md); 0 turns one
    # off. Clients from the exempt networks (the host itself by default) skip them.
    limit_messages_per_minute: int = 30
    limit_conversations_per_ip: int = 5
    limit_conversations_window: int = 600
    limit_connections_per_ip: int = 50
    limit_typing_per_minute: int = 120
    limit_api_per_minute: int = 600
    # Webhooks: how long a node's hold on an endpoint lasts unless renewed, the first retry's
    # wait (doubling to 10 minutes), how long an event is retried before it is a dead
    # letter, and how long a receiver may take to answer.
    webhook_lease_s: int = 15
    webhook_retry_base_ms: int = 1000
    webhook_give_up_s: int = 86400
    webhook_timeout_s: int = 10
    # Outgoing e-mail (chatserver/mail/): the SMTP server (no host: mail stays in the local
    # outbox the admin pages show), its TLS mode (none, starttls, tls), the sender address,
    # how long one SMTP exchange may take, a node's lease on a mail it sends (longer than the
    # timeout, so a live sender never loses it), the first retry's wait (doubling to 10
    # minutes) and how long a mail is retried before it is marked failed.
    smtp_host: str = ""
    smtp_port: int = 0  # 0: 25, 587 or 465 by the TLS mode
    smtp_tls: str = "starttls"
    smtp_user: str = ""
    smtp_password: str = ""
    mail_from: str = "chatserver@localhost"
    smtp_timeout_s: int = 30
    mail_lease_s: int = 120
    mail_retry_base_ms: int = 5000
    mail_give_up_s: int = 2 * 86400
    # Inbound replies (chatserver/mail/inbound.py): the domain of the signed reply addresses
    # and the token the mail provider's webhook must send; either empty: replies are off.
    mail_inbound_domain: str = ""
    mail_inbound_token: str = ""
    # An agent's replies to a visitor who is gone go out by mail once no newer reply came for
    # this long (one mail per burst).
    mail_reply_quiet_s: int = 60
    limit_logins_per_account: int = 10
    limit_logins_per_ip: int = 30
    limit_logins_window: int = 900
    limit_exempt: str = "127.0.0.0/8 ::1"
    # How often each node polls the durable timers and reconciles state (seconds).
    timer_interval: int = 1
    sweep_interval: int = 30
    # The dashboard: how often each node folds the latency records into the rollups and
    # samples the queue (seconds), and the bearer token /metrics asks for (empty: only
    # clients on the host itself may read it).
    metrics_interval: int = 10
    metrics_token: str = ""
    # What an ack promises (see chatserver/durability.py and docs/guarantees.md): "disk"
    # (fsynced), "replica" (that many replicas have it) or "memory" (in Redis, no wait).
    durability: str = "disk"
    min_replicas: int = 1
    durability_timeout_ms: int = 1000
    # File attachments (chatserver/files/): the largest file, each uploader's hourly count
    # and bytes (0: off), the allowed types (names of chatserver.files.sniff.TYPES), how long
    # a signed download URL lasts, the pixel cap of an image (decompression bombs) and where
    # the bytes go: the data directory, or an S3-compatible bucket when one is named.
    file_max_bytes: int = 10 * 1024 * 1024
    files_per_hour: int = 20
    file_bytes_per_hour: int = 50 * 1024 * 1024
    file_types: str = "png jpeg gif webp pdf txt docx xlsx pptx odt ods"
    file_url_ttl_s: int = 900
    image_max_pixels: int = 40_000_000
    file_dir: Path | None = None  # None: $CHATSERVER_DATA_DIR/files
    s3_bucket: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_prefix: str = ""

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry Secure: in production, or when the public URL is https."""
        return self.production or (self.public_url or "").startswith("https://")


DURABILITY_MODES = ("disk", "replica", "memory")

_INT_VARS: dict[str, tuple[str, int, int]] = {
    # variable: (field, minimum, maximum)
    "CHATSERVER_PORT": ("port", 0, 65535),
    "CHATSERVER_MAX_FRAME_BYTES": ("max_frame_bytes", 256, 1 << 20),
    "CHATSERVER_MAX_MESSAGE_LENGTH": ("max_message_length", 1, 100_000),
    "CHATSERVER_PRESENCE_TTL": ("presence_ttl", 3, 3600),
    "CHATSERVER_SESSION_TTL": ("session_ttl", 60, 90 * 24 * 3600),
    "CHATSERVER_VISITOR_TOKEN_TTL": ("visitor_token_ttl", 60, 3650 * 24 * 3600),
    "CHATSERVER_OUTBOUND_QUEUE": ("outbound_queue", 8, 1_000_000),
    "CHATSERVER_FRAME_BURST": ("frame_burst", 1, 100_000),
    "CHATSERVER_TIMER_INTERVAL": ("timer_interval", 1, 60),
    "CHATSERVER_SWEEP_INTERVAL": ("sweep_interval", 1, 3600),
    "CHATSERVER_METRICS_INTERVAL": ("metrics_interval", 1, 3600),
    "CHATSERVER_LIMIT_MESSAGES_PER_MINUTE": ("limit_messages_per_minute", 0, 1_000_000),
    "CHATSERVER_LIMIT_CONVERSATIONS_PER_IP": ("limit_conversations_per_ip", 0, 1_000_000),
    "CHATSERVER_LIMIT_CONVERSATIONS_WINDOW": ("limit_conversations_window", 1, 7 * 24 * 3600),
    "CHATSERVER_LIMIT_CONNECTIONS_PER_IP": ("limit_connections_per_ip", 0, 1_000_000),
    "CHATSERVER_LIMIT_TYPING_PER_MINUTE": ("limit_typing_per_minute", 0, 1_000_000),
    "CHATSERVER_LIMIT_API_PER_MINUTE": ("limit_api_per_minute", 0, 1_000_000),
    "CHATSERVER_WEBHOOK_LEASE_S": ("webhook_lease_s", 1, 3600),
    "CHATSERVER_WEBHOOK_RETRY_BASE_MS": ("webhook_retry_base_ms", 10, 600_000),
    "CHATSERVER_WEBHOOK_GIVE_UP_S": ("webhook_give_up_s", 1, 7 * 86400),
    "CHATSERVER_WEBHOOK_TIMEOUT_S": ("webhook_timeout_s", 1, 120),
    "CHATSERVER_SMTP_PORT": ("smtp_port", 1, 65535),
    "CHATSERVER_SMTP_TIMEOUT_S": ("smtp_timeout_s", 1, 600),
    "CHATSERVER_MAIL_LEASE_S": ("mail_lease_s", 2, 3600),
    "CHATSERVER_MAIL_RETRY_BASE_MS": ("mail_retry_base_ms", 10, 600_000),
    "CHATSERVER_MAIL_GIVE_UP_S": ("mail_give_up_s", 1, 30 * 86400),
    "CHATSERVER_MAIL_REPLY_QUIET_S": ("mail_reply_quiet_s", 1, 86400),
    "CHATSERVER_LIMIT_LOGINS_PER_ACCOUNT": ("limit_logins_per_account", 0, 1_000_000),
    "CHATSERVER_LIMIT_LOGINS_PER_IP": ("limit_logins_per_ip", 0, 1_000_000),
    "CHATSERVER_LIMIT_LOGINS_WINDOW": ("limit_logins_window", 1, 7 * 24 * 3600),
    "CHATSERVER_MIN_REPLICAS": ("min_replicas", 1, 100),
    "CHATSERVER_DURABILITY_TIMEOUT_MS": ("durability_timeout_ms", 10, 60_000),
    "CHATSERVER_FILE_MAX_BYTES": ("file_max_bytes", 1024, 1 << 30),
    "CHATSERVER_FILES_PER_HOUR": ("files_per_hour", 0, 1_000_000),
    "CHATSERVER_FILE_BYTES_PER_HOUR": ("file_bytes_per_hour", 0, 1 << 40),
    "CHATSERVER_FILE_URL_TTL_S": ("file_url_ttl_s", 30, 7 * 86400),
    "CHATSERVER_IMAGE_MAX_PIXELS": ("image_max_pixels", 10_000, 500_000_000),
}


def _parse_int(name: str, raw: str, lo: int, hi: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def settings_from_env(
    env: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
) -> Settings:
    """Build settings from ``env`` (default: the process environment) over a `.env` file.

    Real environment variables win over `.env`. Raises :class:`ConfigError` on bad values.
    """
    merged: dict[str, str] = {}
    if dotenv is not None:
        merged.update(load_dotenv(dotenv))
    merged.update(os.environ if env is None else env)
    s = Settings()
    updates: dict[str, object] = {}

    if "CHATSERVER_HOST" in merged:
        updates["host"] = merged["CHATSERVER_HOST"]
    port_raw = merged.get("CHATSERVER_PORT") or merged.get("PORT")
    if port_raw:
        updates["port"] = _parse_int("PORT", port_raw, 0, 65535)
    for name, (attr, lo, hi) in _INT_VARS.items():
        if name != "CHATSERVER_PORT" and merged.get(name):
            updates[attr] = _parse_int(name, merged[name], lo, hi)
    if merged.get("CHATSERVER_FRAMES_PER_SECOND"):
        try:
            fps = float(merged["CHATSERVER_FRAMES_PER_SECOND"])
        except ValueError:
            raise ConfigError("CHATSERVER_FRAMES_PER_SECOND must be a number") from None
        if fps <= 0:
            raise ConfigError("CHATSERVER_FRAMES_PER_SECOND must be positive")
        updates["frames_per_second"] = fps

    redis_url = merged.get("REDIS_URL", "").strip()
    if redis_url:
        try:
            parse_redis_url(redis_url)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        updates["redis_url"] = redis_url

    if merged.get("CHATSERVER_DATA_DIR"):
        updates["data_dir"] = Path(merged["CHATSERVER_DATA_DIR"])
    env_name = merged.get("CHATSERVER_ENV", s.environment).strip().lower()
    if env_name not in {"development", "production"}:
        raise ConfigError(f"CHATSERVER_ENV must be development or production, got {env_name!r}")
    updates["environment"] = env_name
    level = merged.get("CHATSERVER_LOG_LEVEL", s.log_level).strip().lower()
    if level not in {"debug", "info", "warning", "error"}:
        raise ConfigError(
            f"CHATSERVER_LOG_LEVEL must be debug, info, warning or error, got {level!r}"
        )
    updates["log_level"] = level
    durability = merged.get("CHATSERVER_DURABILITY", s.durability).strip().lower()
    if durability not in DURABILITY_MODES:
        raise ConfigError(
            f"CHATSERVER_DURABILITY must be disk, replica or memory, got {durability!r}"
        )
    updates["durability"] = durability

    site = merged.get("CHATSERVER_DEFAULT_SITE", s.default_site).strip()
    if not _valid_site(site):
        raise ConfigError(
            f"CHATSERVER_DEFAULT_SITE must be 1-40 characters of a-z, 0-9, '-' or '_', got {site!r}"
        )
    updates["default_site"] = site
    if merged.get("CHATSERVER_PUBLIC_URL"):
        updates["public_url"] = merged["CHATSERVER_PUBLIC_URL"].rstrip("/")
    prefix = merged.get("CHATSERVER_KEY_PREFIX", s.key_prefix)
    if not prefix or any(c in prefix for c in "{}: "):
        raise ConfigError("CHATSERVER_KEY_PREFIX must be non-empty without '{', '}', ':' or spaces")
    updates["key_prefix"] = prefix
    if merged.get("CHATSERVER_METRICS_TOKEN"):
        updates["metrics_token"] = merged["CHATSERVER_METRICS_TOKEN"].strip()

    secret = merged.get("CHATSERVER_SECRET_KEY", "")
    if secret and len(secret) < 32:
        raise ConfigError("CHATSERVER_SECRET_KEY must be at least 32 characters")
    updates["secret_key"] = secret
    old = tuple(k for k in merged.get("CHATSERVER_SECRET_KEY_OLD", "").replace(",", " ").split())
    if any(len(k) < 32 for k in old):
        raise ConfigError("CHATSERVER_SECRET_KEY_OLD keys must be at least 32 characters each")
    updates["old_secret_keys"] = old
    for name, attr in (
        ("CHATSERVER_TRUSTED_PROXIES", "trusted_proxies"),
        ("CHATSERVER_LIMIT_EXEMPT", "limit_exempt"),
    ):
        if name in merged:
            updates[attr] = _networks(name, merged[name])
    updates.update(_mail_settings(merged, s))
    updates.update(_file_settings(merged, s))
    s = replace(s, **updates)  # type: ignore[arg-type]
    if s.smtp_timeout_s >= s.mail_lease_s:
        raise ConfigError(
            "CHATSERVER_SMTP_TIMEOUT_S must be shorter than CHATSERVER_MAIL_LEASE_S "
            "(a mail's lease must outlast one SMTP exchange, or two nodes could send it)"
        )
    if not s.secret_key and s.production:
        raise ConfigError(
            "CHATSERVER_SECRET_KEY is required when CHATSERVER_ENV=production "
            '(generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))")'
        )
    return s


SMTP_TLS_MODES = ("none", "starttls", "tls")


def _mail_settings(merged: Mapping[str, str], s: Settings) -> dict[str, object]:
    """The SMTP server, sender and inbound-reply variables (see chatserver/mail/)."""
    out: dict[str, object] = {}
    for name, attr in (
        ("CHATSERVER_SMTP_HOST", "smtp_host"),
        ("CHATSERVER_SMTP_USER", "smtp_user"),
        ("CHATSERVER_SMTP_PASSWORD", "smtp_password"),
        ("CHATSERVER_MAIL_INBOUND_TOKEN", "mail_inbound_token"),
    ):
        if name in merged:
            out[attr] = merged[name].strip()
    mode = merged.get("CHATSERVER_SMTP_TLS", s.smtp_tls).strip().lower()
    if mode not in SMTP_TLS_MODES:
        raise ConfigError(f"CHATSERVER_SMTP_TLS must be none, starttls or tls, got {mode!r}")
    out["smtp_tls"] = mode
    sender = merged.get("CHATSERVER_MAIL_FROM", s.mail_from).strip()
    if "@" not in sender or any(c in sender for c in "\r\n"):
        raise ConfigError(f"CHATSERVER_MAIL_FROM must be an e-mail address, got {sender!r}")
    out["mail_from"] = sender
    domain = merged.get("CHATSERVER_MAIL_INBOUND_DOMAIN", "").strip().lower()
    if domain and not all(part.isascii() and part for part in domain.split(".")):
        raise ConfigError(f"CHATSERVER_MAIL_INBOUND_DOMAIN must be a domain, got {domain!r}")
    out["mail_inbound_domain"] = domain
    return out


def _file_settings(merged: Mapping[str, str], s: Settings) -> dict[str, object]:
    """The attachment variables: allowed types, file directory, S3 bucket (chatserver/files/)."""
    from chatserver.files.sniff import TYPES  # pure; imported here to keep config light

    out: dict[str, object] = {}
    if "CHATSERVER_FILE_TYPES" in merged:
        names = merged["CHATSERVER_FILE_TYPES"].replace(",", " ").lower().split()
        unknown = [n for n in names if n not in TYPES]
        if unknown:
            raise ConfigError(
                f"CHATSERVER_FILE_TYPES: unknown type {unknown[0]!r}; known: {' '.join(TYPES)}"
            )
        out["file_types"] = " ".join(names)
    if merged.get("CHATSERVER_FILE_DIR"):
        out["file_dir"] = Path(merged["CHATSERVER_FILE_DIR"])
    for name, attr in (
        ("CHATSERVER_S3_BUCKET", "s3_bucket"),
        ("CHATSERVER_S3_ENDPOINT_URL", "s3_endpoint_url"),
        ("CHATSERVER_S3_REGION", "s3_region"),
        ("CHATSERVER_S3_ACCESS_KEY_ID", "s3_access_key_id"),
        ("CHATSERVER_S3_SECRET_ACCESS_KEY", "s3_secret_access_key"),
        ("CHATSERVER_S3_PREFIX", "s3_prefix"),
    ):
        if name in merged:
            out[attr] = merged[name].strip()
    endpoint = str(out.get("s3_endpoint_url", ""))
    if endpoint and urlparse(endpoint).scheme not in {"http", "https"}:
        raise ConfigError(f"CHATSERVER_S3_ENDPOINT_URL must be an http(s) URL, got {endpoint!r}")
    return out


def _networks(name: str, raw: str) -> str:
    """A space/comma separated list of IP addresses or networks (CIDR), normalised."""
    entries = raw.replace(",", " ").split()
    try:
        return " ".join(str(ip_network(e, strict=False)) for e in entries)
    except ValueError:
        raise ConfigError(
            f"{name} must list IP addresses or networks such as 10.0.0.0/8, got {raw!r}"
        ) from None


def _valid_site(site: str) -> bool:
    return 1 <= len(site) <= 40 and all(c.isascii() and (c.isalnum() or c in "-_") for c in site)


def valid_site_name(site: str) -> bool:
    """Site names end up inside Redis keys and URLs: keep them to a safe, lower-case alphabet."""
    return _valid_site(site) and site == site.lower()


def ensure_secret(settings: Settings) -> Settings:
    """Return settings with a secret key, generating and keeping one in the data dir if unset.

    A kept key means visitor tokens and sessions survive restarts in development.
    """
    if settings.secret_key:
        return settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / "secret_key"
    if path.is_file():
        key = path.read_text(encoding="utf-8").strip()
        if len(key) >= 32:
            return replace(settings, secret_key=key)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return replace(settings, secret_key=key)
