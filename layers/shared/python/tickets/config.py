"""Runtime configuration, parsed once per container from the environment."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, Field, SecretStr, field_validator

PRODUCTION_RETRY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


class Settings(BaseModel):
    table_name: str = Field(min_length=1)
    region: str = "us-east-1"
    # Upper bound on how long a revoked or rotated API key keeps working in a warm container.
    api_key_cache_seconds: float = Field(default=60.0, ge=0, le=60)
    public_base_url: str = "https://app.example.com"
    delivery_queue_url: str = ""
    # Seconds before each webhook retry; 7 retries make 8 attempts in all.
    retry_schedule: tuple[float, ...] = PRODUCTION_RETRY_SCHEDULE
    allow_private_webhook_targets: bool = False
    webhook_timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    webhook_disable_after_seconds: float = Field(default=5 * 24 * 3600, gt=0)
    delivery_log_days: int = Field(default=30, ge=1)
    event_bus_name: str = "default"
    # How long an Idempotency-Key's record (and so its replayed response) is kept.
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    # From address of assignment emails (template parameter SenderEmail; an SES-verified identity).
    sender_email: str = ""
    # HMAC key of list cursors (a Secrets Manager secret resolved into the environment at deploy time).
    # SecretStr: it never shows in a repr or a log line.
    cursor_signing_key: SecretStr = SecretStr("")
    # Template parameter InboundEmailDomain: replies go to reply+<token>@ it, tenants receive at <prefix>@ it.
    # Empty: the deployment receives no email (outbound replies still go out, without a reply address).
    inbound_email_domain: str = ""
    # The private bucket of attachments (template resource AttachmentsBucket).
    attachments_bucket: str = ""
    # The real-time WebSocket API: its wss:// URL (handed out with a token) and its @connections endpoint
    # (https://<api>.execute-api.<region>.amazonaws.com/<stage>), where the push consumer posts.
    realtime_url: str = ""
    realtime_connections_url: str = ""

    @field_validator("retry_schedule", mode="before")
    @classmethod
    def _schedule(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(float(part) for part in value.split(",") if part.strip())
        return value


@cache
def settings() -> Settings:
    env = os.environ
    return Settings(
        table_name=env.get("TABLE_NAME", ""),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        api_key_cache_seconds=float(env.get("API_KEY_CACHE_SECONDS", "60")),
        public_base_url=env.get("PUBLIC_BASE_URL", "https://app.example.com"),
        delivery_queue_url=env.get("DELIVERY_QUEUE_URL", ""),
        retry_schedule=env.get("WEBHOOK_RETRY_SCHEDULE") or PRODUCTION_RETRY_SCHEDULE,
        allow_private_webhook_targets=env.get("ALLOW_PRIVATE_WEBHOOK_TARGETS", "false").strip().lower() == "true",
        webhook_timeout_seconds=float(env.get("WEBHOOK_TIMEOUT_SECONDS", "15")),
        webhook_disable_after_seconds=float(env.get("WEBHOOK_DISABLE_AFTER_SECONDS", str(5 * 24 * 3600))),
        event_bus_name=env.get("EVENT_BUS_NAME", "default"),
        idempotency_ttl_seconds=int(env.get("IDEMPOTENCY_TTL_SECONDS", str(24 * 3600))),
        sender_email=env.get("SENDER_EMAIL", ""),
        cursor_signing_key=SecretStr(env.get("CURSOR_SIGNING_KEY", "")),
        inbound_email_domain=env.get("INBOUND_EMAIL_DOMAIN", "").strip().lower(),
        attachments_bucket=env.get("ATTACHMENTS_BUCKET", ""),
        realtime_url=env.get("REALTIME_URL", ""),
        realtime_connections_url=env.get("REALTIME_CONNECTIONS_URL", ""),
    )
