"""Runtime configuration, read from the environment and an optional `.env` file.

Names follow ../shared/API.md. Settings are built explicitly (`Settings()` or `load_settings()`)
and passed down; nothing reads the environment at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nudge.logs import LogFormat, LogLevel

ChannelMode = Literal["sandbox", "live"]


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default="", validation_alias="NUDGE_DATABASE_URL")
    data_dir: Path = Field(default=Path(".nudge"), validation_alias="NUDGE_DATA_DIR")
    chroma_path: str = Field(default="", validation_alias="NUDGE_CHROMA_PATH")
    chroma_url: str = Field(default="", validation_alias="NUDGE_CHROMA_URL")
    public_url: str = Field(default="http://localhost:8000", validation_alias="NUDGE_PUBLIC_URL")
    trust_forwarded_headers: bool = Field(default=False, validation_alias="NUDGE_TRUST_FORWARDED_HEADERS")

    twilio_account_sid: str = Field(default="", validation_alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: str = Field(default="", validation_alias="TWILIO_AUTH_TOKEN")
    twilio_api_url: str = Field(default="", validation_alias="NUDGE_TWILIO_API_URL")

    openai_api_key: str = Field(default="", validation_alias="OPENAI_API_KEY")
    openai_base_url: str = Field(default="", validation_alias="OPENAI_BASE_URL")
    llm_model: str = Field(default="", validation_alias="NUDGE_LLM_MODEL")
    # Seconds one LLM call may take; touch 1 has its own, shorter budget so it still goes out
    # within the 60-second promise when the model is slow (the template answers instead).
    llm_timeout: float = Field(default=20.0, gt=0, validation_alias="NUDGE_LLM_TIMEOUT")
    llm_first_touch_timeout: float = Field(default=8.0, gt=0, validation_alias="NUDGE_LLM_FIRST_TOUCH_TIMEOUT")
    # How the model is asked for JSON: json_schema (OpenAI, vLLM, Ollama, llama.cpp), function_calling
    # or json_mode for servers that support only those.
    # Touch 1 goes out within this many seconds of the lead's arrival: the model gets what is left
    # of it (a lead that waited in a queue of slow LLM runs gets the template at once).
    first_touch_promise: float = Field(default=60.0, gt=0, validation_alias="NUDGE_FIRST_TOUCH_PROMISE")
    llm_structured_method: Literal["json_schema", "function_calling", "json_mode"] = Field(
        default="json_schema", validation_alias="NUDGE_LLM_STRUCTURED_METHOD"
    )
    llm_breaker_failures: int = Field(default=5, ge=1, validation_alias="NUDGE_LLM_BREAKER_FAILURES")
    llm_breaker_cooldown: float = Field(default=60.0, gt=0, validation_alias="NUDGE_LLM_BREAKER_COOLDOWN")

    smtp_url: str = Field(default="", validation_alias="NUDGE_SMTP_URL")
    # Shared secret that signs POSTs to /webhooks/email/inbound (replies and bounces from your mail
    # provider's inbound parse); without it the endpoint refuses everything.
    email_inbound_secret: str = Field(default="", validation_alias="NUDGE_EMAIL_INBOUND_SECRET")
    # Mailgun's webhook signing key: verifies POSTs to /webhooks/email/mailgun (Mailgun routes).
    mailgun_signing_key: str = Field(default="", validation_alias="NUDGE_MAILGUN_SIGNING_KEY")
    # IMAP mailboxes (PUT /v1/email-inbox): how often a worker looks for mailboxes to start or stop,
    # and the longest an IDLE waits before it is renewed (servers drop IDLE after 30 minutes).
    imap_sync_seconds: float = Field(default=5.0, gt=0, validation_alias="NUDGE_IMAP_SYNC_SECONDS")
    imap_idle_seconds: float = Field(default=25.0, gt=0, le=1500, validation_alias="NUDGE_IMAP_IDLE_SECONDS")
    channels: ChannelMode = Field(default="sandbox", validation_alias="NUDGE_CHANNELS")
    # Meta Marketing API host for Custom Audiences (point it at a stand-in in tests).
    meta_graph_url: str = Field(default="https://graph.facebook.com", validation_alias="NUDGE_META_GRAPH_URL")
    hubspot_api_url: str = Field(default="https://api.hubapi.com", validation_alias="NUDGE_HUBSPOT_API_URL")

    # Webhook URLs a business sets (rep notifications, audiences) must reach a public address, over
    # https in live mode; an on-premise install whose own network carries them may allow private
    # addresses and plain http.
    allow_private_webhooks: bool = Field(default=False, validation_alias="NUDGE_ALLOW_PRIVATE_WEBHOOKS")

    # Messages per second per sender (providers refuse a burst over these with 429s).
    rate_whatsapp: float = Field(default=80.0, ge=0, validation_alias="NUDGE_RATE_WHATSAPP")
    rate_sms_long_code: float = Field(default=1.0, ge=0, validation_alias="NUDGE_RATE_SMS_LONG_CODE")
    rate_sms_toll_free: float = Field(default=3.0, ge=0, validation_alias="NUDGE_RATE_SMS_TOLL_FREE")
    rate_sms_short_code: float = Field(default=100.0, ge=0, validation_alias="NUDGE_RATE_SMS_SHORT_CODE")
    rate_email: float = Field(default=20.0, ge=0, validation_alias="NUDGE_RATE_EMAIL")
    # A send whose slot is further away than this goes back to the queue instead of holding a thread.
    pacing_max_wait_seconds: float = Field(default=0.5, ge=0, validation_alias="NUDGE_PACING_MAX_WAIT")

    # Largest request body the API accepts; Twilio webhooks are a few KB, case-study uploads more.
    max_body_bytes: int = Field(default=5 * 1024 * 1024, validation_alias="NUDGE_MAX_BODY_BYTES")
    dispatcher_threads: int = Field(default=4, ge=1, le=64, validation_alias="NUDGE_DISPATCHER_THREADS")
    dispatcher_batch: int = Field(default=8, ge=1, le=256, validation_alias="NUDGE_DISPATCHER_BATCH")
    tick_seconds: float = Field(default=1.0, gt=0, validation_alias="NUDGE_TICK_SECONDS")
    lease_seconds: float = Field(default=60.0, gt=0, validation_alias="NUDGE_LEASE_SECONDS")
    log_level: LogLevel = Field(default="INFO", validation_alias="NUDGE_LOG_LEVEL")
    log_format: LogFormat = Field(default="text", validation_alias="NUDGE_LOG_FORMAT")
    # Abuse limits (token buckets): per API key on /v1; per client address on webhooks and links.
    # 0 turns a limit off.
    rate_limit_per_second: float = Field(default=50.0, ge=0, validation_alias="NUDGE_RATE_LIMIT_PER_SECOND")
    rate_limit_burst: int = Field(default=200, ge=1, validation_alias="NUDGE_RATE_LIMIT_BURST")
    webhook_rate_per_second: float = Field(default=200.0, ge=0, validation_alias="NUDGE_WEBHOOK_RATE_PER_SECOND")
    webhook_rate_burst: int = Field(default=1000, ge=1, validation_alias="NUDGE_WEBHOOK_RATE_BURST")
    # Inbound floods: a lead already in conversation is answered once it has been quiet this long
    # (several quick messages get one answer), but never held longer than the maximum.
    inbound_quiet_seconds: float = Field(default=1.5, ge=0, le=60, validation_alias="NUDGE_INBOUND_QUIET_SECONDS")
    inbound_max_hold_seconds: float = Field(
        default=8.0, ge=0, le=300, validation_alias="NUDGE_INBOUND_MAX_HOLD_SECONDS"
    )

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _any_case(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        return value.upper() if info.field_name == "log_level" else value.lower()

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'nudge.db').as_posix()}"

    @property
    def resolved_chroma_path(self) -> str:
        return self.chroma_path or (self.data_dir / "chroma").as_posix()

    @property
    def llm_configured(self) -> bool:
        return bool(self.openai_base_url or self.openai_api_key) and bool(self.llm_model)

    def check_live_channels(self) -> None:
        """Refuse live mode without the credentials each live channel needs."""
        if self.channels != "live":
            return
        missing = [
            name
            for name, value in (
                ("TWILIO_ACCOUNT_SID", self.twilio_account_sid),
                ("TWILIO_AUTH_TOKEN", self.twilio_auth_token),
                ("NUDGE_SMTP_URL", self.smtp_url),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                "NUDGE_CHANNELS=live sends real WhatsApp/SMS through Twilio and email through SMTP, "
                f"but {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set. "
                "Set them (environment or .env), or use NUDGE_CHANNELS=sandbox to record messages "
                "without sending."
            )


def load_settings(**overrides: object) -> Settings:
    settings = Settings(**overrides)  # type: ignore[arg-type]
    settings.check_live_channels()
    return settings
