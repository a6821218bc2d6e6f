"""The one settings object, read from the environment (prefix ``STREAMPOOLS_``)."""

import ipaddress
import json
import os
from functools import lru_cache
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.kit.cipher import derived_key, parse_keys

#: Bind addresses that mean "every interface": not an address a browser can use.
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104

#: Good enough on a laptop, refused in production.
DEV_JWT_SECRET = "dev-only-change-me-dev-only-change-me"  # noqa: S105


class Settings(BaseSettings):
    """Every knob of the platform. ``DATABASE_URL`` and ``REDIS_URL`` also work unprefixed."""

    model_config = SettingsConfigDict(env_prefix="STREAMPOOLS_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("STREAMPOOLS_DATABASE_URL", "DATABASE_URL"),
        description="SQLAlchemy URL of the primary (postgresql+asyncpg://...). Empty: embedded.",
    )
    database_read_url: str = Field(
        default="",
        description="URL of a read replica for lag-tolerant reads; empty means the primary.",
    )
    #: Connections each process keeps open (per engine), and the most it uses: a request that
    #: finds all of them busy waits for one rather than opening (and then closing) another.
    database_pool_size: int = Field(default=20, ge=1)
    redis_url: str = Field(
        default="",
        validation_alias=AliasChoices("STREAMPOOLS_REDIS_URL", "REDIS_URL"),
        description="redis://host:port/db. Empty: embedded.",
    )

    # Local (embedded) servers used when the URLs above are empty.
    data_dir: str = ".data"
    embedded_postgres_port: int = 54329
    embedded_redis_port: int = 63799

    # HTTP
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = Field(
        default="",
        description="Where browsers and webhooks reach the web process; the one source of every"
        " URL we hand out. Empty: http://<host>:<port> (127.0.0.1 for a wildcard host).",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed; unset: the origin of public_url.",
    )
    log_level: str = "INFO"
    #: JSON lines (true), readable lines (false); unset: JSON in production and wherever stderr
    #: is not a terminal, readable lines on a developer's terminal.
    log_json: bool | None = None
    #: Peers whose X-Forwarded-For names the client (IPs or CIDRs, or "*" for any): the
    #: address that rate limits count. Anyone else's X-Forwarded-For is ignored.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"]
    )

    # Metrics (Prometheus)
    #: When set, every metrics endpoint asks for ``Authorization: Bearer <token>``. In
    #: production ``/metrics`` on the public port is served only behind it.
    metrics_token: SecretStr = SecretStr("")
    #: Serve the web process's metrics on this port of ``metrics_host`` instead of ``/metrics``
    #: on the public port (0: on the public port).
    metrics_port: int = Field(default=0, ge=0, le=65535)
    #: Where the metrics listeners bind (the web's ``metrics_port``, the worker's). In
    #: production, anything but loopback needs ``metrics_token``.
    metrics_host: str = "127.0.0.1"
    #: The worker's metrics listener (jobs, durations, queue depth); 0: none.
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    #: The integrations worker's metrics listener (what it runs, chats it polls, YouTube's
    #: quota); 0: none. Replicas on one host need a port each.
    integrations_metrics_port: int = Field(default=0, ge=0, le=65535)

    # Tokens
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_issuer: str = "streampools"
    jwt_audience: str = "streampools-api"
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600

    #: Platform (Twitch, Kick, YouTube) tokens are encrypted at rest with these comma-separated
    #: Fernet keys: the first encrypts, every one decrypts (rotate by putting a new key first,
    #: re-encrypting, then dropping the old). Required in production; empty elsewhere: one key
    #: derived from the JWT secret.
    token_keys: SecretStr = SecretStr("")
    #: Platform tokens expiring within this many seconds are refreshed by the refresh job.
    platform_token_refresh_lead_seconds: int = Field(default=15 * 60, ge=60)

    # Passwords: argon2id, never below OWASP's minimum (m=19 MiB, t=2, p=1).
    argon2_time_cost: int = Field(default=3, ge=2)
    argon2_memory_kib: int = Field(default=65536, ge=19456)
    argon2_parallelism: int = Field(default=4, ge=1)
    #: Hashes computed at once per process, each in a thread beside the event loop; unset:
    #: the CPU count shared among the web processes (at least one each).
    password_hash_concurrency: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    #: Sign-ups and sign-ins that may wait for a hash beyond those; more are answered 503.
    password_hash_queue_max: int = Field(default=32, ge=0)

    # Login rate limits (failed attempts per window).
    login_window_seconds: int = 15 * 60
    login_max_per_account: int = 10
    login_max_per_address: int = 50

    # Sign-up rate limit (attempts per client address per window).
    register_window_seconds: int = 3600
    register_max_per_address: int = 20

    # Stripe (deposits): an empty secret key disables payments.
    stripe_secret_key: SecretStr = SecretStr("")
    stripe_webhook_secret: SecretStr = SecretStr("")
    stripe_api_base: str = "https://api.stripe.com"
    #: Where Checkout sends the payer back; empty: the pages the web process serves.
    checkout_success_url: str = ""
    checkout_cancel_url: str = ""
    cash_currency: str = "USD"
    deposit_min: int = 100
    deposit_max: int = 1_000_000
    withdrawal_min: int = 100

    # Twitch: an empty client id turns Twitch off (sign-in, channel links, EventSub).
    twitch_client_id: str = ""
    twitch_client_secret: SecretStr = SecretStr("")
    #: Signs the EventSub subscriptions this server creates (10 to 100 ASCII characters);
    #: empty: /webhooks/twitch answers 503.
    twitch_eventsub_secret: SecretStr = SecretStr("")
    #: "webhook": Twitch posts events to /webhooks/twitch at the public URL (HTTPS on 443);
    #: "websocket": the worker connects to Twitch instead, for a machine without a public
    #: HTTPS address (a streamer's laptop). Both feed the same inbox.
    twitch_eventsub_transport: Literal["webhook", "websocket"] = "webhook"
    twitch_api_base: str = "https://api.twitch.tv/helix"
    twitch_id_base: str = "https://id.twitch.tv"
    twitch_eventsub_ws_url: str = "wss://eventsub.wss.twitch.tv/ws"

    # Kick: an empty client id turns Kick off (sign-in, channel links, /webhooks/kick).
    kick_client_id: str = ""
    kick_client_secret: SecretStr = SecretStr("")
    kick_api_base: str = "https://api.kick.com"
    kick_id_base: str = "https://id.kick.com"
    #: The PEM of the public key Kick signs webhooks with (published in Kick's documentation).
    #: Empty: fetched from Kick's API. Either way the key Kick's API serves is cached, and
    #: fetched again when a delivery fails with the keys known (a rotation).
    kick_public_key: str = ""
    #: How long the key fetched from Kick is cached, and the least time between two fetches
    #: caused by deliveries that failed to verify (forged ones cannot make us hammer Kick).
    kick_public_key_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    kick_public_key_refetch_seconds: int = Field(default=300, ge=1)

    # YouTube (a Google Cloud OAuth client with the YouTube Data API v3 enabled): an empty
    # client id turns YouTube off (sign-in with Google, channel links, chat polling, WebSub).
    youtube_client_id: str = ""
    youtube_client_secret: SecretStr = SecretStr("")
    youtube_api_base: str = "https://www.googleapis.com/youtube/v3"
    #: Google's token endpoint host, and the host of its consent page.
    google_oauth_base: str = "https://oauth2.googleapis.com"
    google_accounts_base: str = "https://accounts.google.com"
    #: The Cloud project's YouTube Data API quota per day (Google's default: 10,000 units),
    #: shared by every streamer; the quota planner never spends more.
    youtube_quota_units_per_day: int = Field(default=10_000, ge=100)
    #: Units kept back from chat polling for replies (inserts cost 20) and live checks.
    youtube_quota_reserve_units: int = Field(default=1_000, ge=0)
    #: How often each linked channel's active broadcasts are checked (5 units a look; a WebSub
    #: notification makes the next look sooner).
    youtube_live_check_seconds: int = Field(default=900, ge=30)
    #: The shortest wait between two chat polls of one live chat (YouTube's own
    #: ``pollingIntervalMillis`` is waited at least too).
    youtube_min_poll_seconds: float = Field(default=3.0, ge=0.5)
    #: The quota planner spreads the units left over the live chats and this many hours (or
    #: the rest of the Pacific-time day, if shorter): polling slows as units run low.
    youtube_plan_hours: float = Field(default=4.0, gt=0, le=24)
    #: How long an integrations worker's hold on a live chat's poller lasts unless renewed (a
    #: dead replica's chats are taken over within it).
    youtube_poller_lease_seconds: float = Field(default=10.0, ge=1)
    #: WebSub: Google's hub, and the secret each subscription's own secret is derived from
    #: (empty: no push, live checks only).
    youtube_websub_hub: str = "https://pubsubhubbub.appspot.com/subscribe"
    youtube_websub_secret: SecretStr = SecretStr("")
    youtube_websub_lease_seconds: int = Field(default=5 * 24 * 3600, ge=3600)

    # Notifications: the inbox always; pushes through FCM when Firebase credentials are set.
    #: A Firebase service account's JSON key: the path of its file, or the JSON itself.
    #: Empty: no pushes (the inbox still works).
    firebase_credentials: SecretStr = SecretStr("")
    #: FCM's API, or a local fake (`make fake-fcm`).
    fcm_api_base: str = "https://fcm.googleapis.com"
    #: Bettors of an open pool are told this many seconds before it locks.
    notification_locking_lead_seconds: int = Field(default=60, ge=5, le=3600)
    #: Attempts of one push to one device that FCM refused for now (quota, 5xx).
    push_max_attempts: int = Field(default=5, ge=1, le=20)

    # Player protection (cash only)
    minimum_age: int = 18

    #: The web process's event loop and HTTP parser (uvicorn's `auto`: uvloop and httptools,
    #: measured faster by `make bench ONLY=reads`; `asyncio` / `h11` are the pure-Python ones).
    web_loop: Literal["auto", "asyncio", "uvloop"] = "auto"
    web_http: Literal["auto", "h11", "httptools"] = "auto"
    #: Web processes `streampools web` runs on the one public port (one per core by default);
    #: 1: a single process, no supervisor.
    web_processes: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=256)

    #: The built web app (`make web`: the viewer page, dashboard, overlay and the API docs'
    #: assets); relative paths are from the project's root.
    web_dist: str = "web/dist"

    #: `make run` seeds the demo, and in development the worker keeps an open pool in its
    #: channel (a new one opens whenever the last was locked, resolved or cancelled).
    demo_enabled: bool = True

    # Channels and pools
    points_signup_grant: int = 1000
    points_daily_bonus: int = 100
    points_max_grant: int = 100_000
    #: What one member of staff may grant in total in one channel over any 24 hours.
    points_grant_daily_cap: int = Field(default=1_000_000, ge=0)
    cash_rake_bps_default: int = 500
    cash_rake_bps_cap: int = 1000
    pool_stale_lock_hours: int = 24
    #: Live totals go out to a pool's viewers at most this often (``pool:updated``).
    pool_update_interval_ms: int = Field(default=250, ge=20)

    # Socket.IO
    #: Every client event of one connection draws from a token bucket of this rate and size.
    socket_events_per_second: float = Field(default=20, gt=0)
    socket_event_burst: int = Field(default=40, ge=1)
    #: A connection refused this many events in a row for its rate is disconnected.
    socket_abuse_threshold: int = Field(default=50, ge=1)
    socket_max_message_bytes: int = Field(default=16 * 1024, ge=1024)
    #: How long before its access token expires a connection is asked to refresh it.
    socket_refresh_lead_seconds: int = Field(default=60, ge=1)
    #: How long after expiry a connection that did not refresh is kept before disconnecting.
    socket_refresh_grace_seconds: int = Field(default=5, ge=0)

    # Chat
    chat_messages_per_window: int = Field(default=5, ge=1)
    chat_window_seconds: int = Field(default=5, ge=1)
    chat_history_size: int = Field(default=100, ge=50)
    chat_timeout_max_seconds: int = Field(default=7 * 24 * 3600, ge=1)

    # Chat commands (app.command) and the bot's replies in platform chats
    #: Replies written within this window go out as one chat message (bets coalesced).
    chat_reply_coalesce_ms: int = Field(default=1500, ge=100, le=10_000)
    #: Messages the bot sends to one platform chat per window: Twitch allows a bot that is
    #: not a moderator 20 per 30 s in a channel; below it, with room for its other messages.
    chat_replies_per_window: int = Field(default=15, ge=1)
    chat_reply_window_seconds: int = Field(default=30, ge=1)
    #: Replies still unsent after this long are dropped (and logged): late answers confuse.
    chat_reply_max_age_seconds: int = Field(default=120, ge=5)
    #: At most one usage hint (or refusal) per chatter per this many seconds...
    chat_hint_chatter_seconds: int = Field(default=60, ge=1)
    #: ...and one usage hint per channel per this many seconds.
    chat_hint_channel_seconds: int = Field(default=10, ge=1)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        """A JSON list or, as uvicorn's FORWARDED_ALLOW_IPS, comma-separated."""
        if isinstance(value, str):
            text = value.strip()
            parsed: object = (
                json.loads(text) if text.startswith("[") else [p for p in text.split(",") if p]
            )
            value = parsed
        if isinstance(value, list):
            value = [str(item).strip() for item in value]
            for item in value:
                if item != "*":
                    ipaddress.ip_network(item, strict=False)  # ValueError names the bad entry
        return value

    @field_validator("twitch_eventsub_secret")
    @classmethod
    def _eventsub_secret(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret and not (10 <= len(secret) <= 100 and secret.isascii()):
            raise ValueError("Twitch takes an EventSub secret of 10 to 100 ASCII characters")
        return value

    @model_validator(mode="after")
    def _derive_public_urls(self) -> "Settings":
        """Every URL we hand out follows public_url, itself derived from host and port."""
        if not self.public_url:
            host = "127.0.0.1" if self.host in WILDCARD_HOSTS else self.host
            host = f"[{host}]" if ":" in host else host
            self.public_url = f"http://{host}:{self.port}"
        self.public_url = self.public_url.rstrip("/")
        if "cors_origins" not in self.model_fields_set:
            parts = urlsplit(self.public_url)
            self.cors_origins = [f"{parts.scheme}://{parts.netloc}"]
            if parts.hostname in LOOPBACK_NAMES:
                # Served on loopback: the browser may call the machine by any of its names.
                port = f":{parts.port}" if parts.port else ""
                self.cors_origins = [
                    f"{parts.scheme}://{name}{port}" for name in ("127.0.0.1", "localhost", "[::1]")
                ]
        if not self.checkout_success_url:
            self.checkout_success_url = f"{self.public_url}/deposit/success"
        if not self.checkout_cancel_url:
            self.checkout_cancel_url = f"{self.public_url}/deposit/cancel"
        return self

    @model_validator(mode="after")
    def _share_the_cores(self) -> "Settings":
        if "password_hash_concurrency" not in self.model_fields_set:
            cores = os.cpu_count() or 1
            self.password_hash_concurrency = max(1, cores // self.web_processes)
        return self

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> "Settings":
        secret = self.jwt_secret.get_secret_value()
        if self.env == "production" and (secret == DEV_JWT_SECRET or len(secret) < 32):
            raise ValueError(
                "STREAMPOOLS_JWT_SECRET must be a random value of at least 32 characters in"
                " production (e.g. `openssl rand -hex 32`)"
            )
        return self

    @model_validator(mode="after")
    def _token_keys_well_formed(self) -> "Settings":
        text = self.token_keys.get_secret_value()
        try:
            parse_keys(text)
        except ValueError as error:
            raise ValueError(f"STREAMPOOLS_TOKEN_KEYS: {error}") from None
        if self.env == "production" and not text.strip():
            raise ValueError(
                "STREAMPOOLS_TOKEN_KEYS must hold at least one Fernet key in production"
                " (platform tokens are encrypted with it)"
            )
        return self

    @property
    def token_cipher_keys(self) -> tuple[bytes, ...]:
        """The keys platform tokens are encrypted with, the encrypting one first."""
        keys = parse_keys(self.token_keys.get_secret_value())
        return tuple(keys) or (derived_key(self.jwt_secret.get_secret_value()),)

    @property
    def public_metrics(self) -> bool:
        """Whether ``/metrics`` is served on the public port: when no metrics port of its own
        is set, and in production only behind the token."""
        if self.metrics_port:
            return False
        return self.env != "production" or bool(self.metrics_token.get_secret_value())

    @property
    def json_logs(self) -> bool | None:
        """``log_json`` when set; JSON in production; else None: app.kit.logging then writes
        JSON unless stderr is a terminal."""
        if self.log_json is not None:
            return self.log_json
        return True if self.env == "production" else None

    @property
    def twitch_enabled(self) -> bool:
        return bool(self.twitch_client_id)

    @property
    def kick_enabled(self) -> bool:
        return bool(self.kick_client_id)

    @property
    def youtube_enabled(self) -> bool:
        return bool(self.youtube_client_id)

    @property
    def push_enabled(self) -> bool:
        return bool(self.firebase_credentials.get_secret_value().strip())

    @property
    def payments_enabled(self) -> bool:
        return bool(self.stripe_secret_key.get_secret_value())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
