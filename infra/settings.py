"""One settings tree, read from the environment once at start and passed in.

Each subsystem has its own env prefix: ``DATABASE_URL``, ``TEMPORAL_*``, ``SWITCHBOARD_*``.
Secrets are ``SecretStr`` so they never print; a missing or placeholder secret is refused
outside dev mode.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.observability.settings import ObservabilitySettings
from infra.retention.settings import RetentionSettings

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "admin"}


class DatabaseSettings(BaseSettings):
    """Where the platform's own state lives."""

    model_config = SettingsConfigDict(env_prefix="DATABASE_", extra="ignore")

    url: str | None = Field(
        default=None,
        description="postgresql:// URL; unset means the embedded pgserver in the data dir",
    )
    pool_min: int = Field(default=2, description="Connections kept open per process")
    pool_max: int = Field(default=10, description="Most connections per process")


class PayloadSettings(BaseSettings):
    """Encryption of workflow and activity payloads before they reach Temporal (infra/codec.py)."""

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_PAYLOAD_", extra="ignore")

    keys: SecretStr | None = Field(
        default=None,
        description='"kid:base64 of 32 bytes,..." AES-GCM keys: the first encrypts, every one '
                    "decrypts (rotation). Unset: payloads go to Temporal in plaintext "
                    "(switchboard up generates one in the data dir)")
    ui_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8233", "http://localhost:8233"],
        description="Origins (the Temporal UI's) allowed to call /codec/decode from a browser")

    @field_validator("keys")
    @classmethod
    def _keys_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_payload_keys(value.get_secret_value())
        return value

    def key_ring(self) -> list[tuple[str, bytes]]:
        """The (key id, key) pairs, the encrypting one first; empty when unset."""
        return parse_payload_keys(self.keys.get_secret_value()) if self.keys else []


def parse_payload_keys(text: str) -> list[tuple[str, bytes]]:
    """Parse ``kid:base64key,...``; raise ValueError naming what is wrong (never the key)."""
    ring: list[tuple[str, bytes]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        kid, sep, encoded = item.partition(":")
        if not sep or not kid or not kid.isascii() or not kid.replace("-", "").isalnum():
            raise ValueError("SWITCHBOARD_PAYLOAD_KEYS: each key is <id>:<base64>, the id "
                             "letters, digits and dashes")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"SWITCHBOARD_PAYLOAD_KEYS: key {kid!r} is not base64") from exc
        if len(key) != 32:
            raise ValueError(f"SWITCHBOARD_PAYLOAD_KEYS: key {kid!r} must decode to 32 bytes")
        if any(kid == seen for seen, _ in ring):
            raise ValueError(f"SWITCHBOARD_PAYLOAD_KEYS: key id {kid!r} appears twice")
        ring.append((kid, key))
    if not ring:
        raise ValueError("SWITCHBOARD_PAYLOAD_KEYS is empty; unset it for plaintext payloads")
    return ring


class TracingSettings(BaseSettings):
    """OpenTelemetry traces, by the standard ``OTEL_*`` variables (infra/tracing.py); off unless
    an exporter or an OTLP endpoint is named."""

    model_config = SettingsConfigDict(env_prefix="OTEL_", extra="ignore")

    sdk_disabled: bool = Field(default=False, description="OTEL_SDK_DISABLED: force tracing off")
    traces_exporter: str | None = Field(
        default=None, description="OTEL_TRACES_EXPORTER: otlp, console or none (unset: otlp "
                                  "if an OTLP endpoint is set, else none)")
    exporter_otlp_endpoint: str | None = Field(
        default=None, description="OTEL_EXPORTER_OTLP_ENDPOINT (http/protobuf, e.g. "
                                  "http://collector:4318); the SDK reads its other OTLP settings")
    exporter_otlp_traces_endpoint: str | None = Field(
        default=None, description="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (full URL of /v1/traces)")
    service_name: str | None = Field(
        default=None, description="OTEL_SERVICE_NAME; unset: switchboard-<process>")

    def exporter(self) -> Literal["otlp", "console"] | None:
        """Which exporter this process uses, None when tracing is off."""
        if self.sdk_disabled:
            return None
        chosen = (self.traces_exporter or "").strip().lower()
        if not chosen:
            endpoint = self.exporter_otlp_endpoint or self.exporter_otlp_traces_endpoint
            return "otlp" if endpoint else None
        if chosen in ("otlp", "console"):
            return chosen  # type: ignore[return-value]
        if chosen == "none":
            return None
        raise ValueError(f"OTEL_TRACES_EXPORTER={chosen!r}: use otlp, console or none")


class WorkerMetricsSettings(BaseSettings):
    """The Temporal SDK's own worker metrics, served in Prometheus format by worker processes."""

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_WORKER_METRICS_", extra="ignore")

    address: str | None = Field(
        default=None, description="host:port a worker process serves /metrics on (e.g. "
                                  "0.0.0.0:9464); unset: off. One port per worker process")


class TemporalSettings(BaseSettings):
    """How to reach the Temporal cluster."""

    model_config = SettingsConfigDict(env_prefix="TEMPORAL_", extra="ignore")

    address: str = Field(default="127.0.0.1:7233", description="Frontend host:port")
    namespace: str = Field(default="default", description="Temporal namespace")
    api_key: SecretStr | None = Field(default=None, description="API key (Temporal Cloud)")
    tls: bool = Field(default=False, description="Use TLS to reach the frontend")
    task_queue: str = Field(default="switchboard.platform", description="Platform worker queue")
    control_task_queue: str = Field(
        default="switchboard.control",
        description="The kill switch's own queue (served by the platform process), so a stop "
                    "never waits behind the event backlog",
    )
    payload: PayloadSettings = Field(default_factory=PayloadSettings,
                                     description="Payload encryption (SWITCHBOARD_PAYLOAD_*)")


class ApiSettings(BaseSettings):
    """The HTTP API and webhook ingestion."""

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Address the API binds to")
    port: int = Field(default=8000, description="API port")
    max_body_bytes: int = Field(default=1024 * 1024, description="Largest webhook body accepted")
    slack_max_skew_seconds: int = Field(default=300, description="Slack timestamp window")
    secret_cache_seconds: float = Field(
        default=5.0, description="How long a process keeps a tenant's signing secret in memory"
    )
    relay_sweep_seconds: float = Field(
        default=2.0, description="Relay sweep period (NOTIFY wakes it sooner)"
    )
    relay_batch: int = Field(default=200, description="Inbox rows started per relay pass")
    token_ttl_seconds: int = Field(default=3600, ge=60, description="Agent access token lifetime")


class AgentSettings(BaseSettings):
    """An agent worker's brain and skills (``switchboard agent run``).

    The LLM key belongs to the agent's worker: it is read here, in the worker's process, and is
    never sent to or stored by the platform.
    """

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_AGENT_", extra="ignore",
                                      populate_by_name=True)

    llm: Literal["demo", "openai", "scripted"] = Field(
        default="demo",
        description="demo: deterministic offline policy; openai: any OpenAI-compatible "
                    "endpoint; scripted: replay a JSON script (tests, demos)",
    )
    model: str = Field(default="gpt-4o-mini", description="Model name sent to the endpoint")
    tenant: str | None = Field(
        default=None, description="The agent's tenant, required by `switchboard agent run`: agent"
                                  " ids are unique only within a tenant")
    heartbeat_seconds: float = Field(default=30.0, description="Presence heartbeat interval")
    base_url: str | None = Field(
        default=None, description="OpenAI-compatible base URL; unset means the OpenAI API")
    api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SWITCHBOARD_AGENT_API_KEY", "OPENAI_API_KEY"),
        description="The worker's own LLM key (SWITCHBOARD_AGENT_API_KEY or OPENAI_API_KEY)",
    )
    timeout_seconds: float = Field(default=120.0, description="Timeout of one LLM request")
    script: Path | None = Field(default=None, description="JSON script for llm=scripted")
    prompt_file: Path | None = Field(
        default=None, description="System prompt template file; unset means the built-in one")
    mcp: list[str] = Field(
        default_factory=list,
        description='MCP servers to attach, one command line each, optionally "prefix=" first '
                    '(env: a JSON list, e.g. ["time=mcp-server-time --local-timezone UTC"])',
    )


class VaultSettings(BaseSettings):
    """Where gateway credentials live: the embedded encrypted table, or HashiCorp Vault KV v2."""

    model_config = SettingsConfigDict(env_prefix="VAULT_", extra="ignore")

    backend: Literal["embedded", "hashicorp"] = Field(
        default="embedded",
        description="embedded: AES-GCM in PostgreSQL under SWITCHBOARD_MASTER_KEY; "
                    "hashicorp: Vault KV v2 through hvac",
    )
    addr: str | None = Field(default=None, description="Vault address, e.g. https://vault:8200")
    token: SecretStr | None = Field(default=None, description="Vault token (or use AppRole)")
    role_id: str | None = Field(default=None, description="AppRole role id")
    secret_id: SecretStr | None = Field(default=None, description="AppRole secret id")
    mount: str = Field(default="secret", description="KV v2 mount point")
    path_prefix: str = Field(default="switchboard", description="Path under the mount")
    timeout_seconds: float = Field(default=10.0, description="Timeout of one Vault request")


class GatewaySettings(BaseSettings):
    """The tool gateway: where it runs and which APIs it talks to."""

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_GATEWAY_", extra="ignore")

    task_queue: str = Field(default="switchboard.gateway", description="Gateway activity queue")
    github_api_url: str = Field(default="https://api.github.com", description="GitHub REST API")
    github_git_url: str = Field(default="https://github.com", description="Git remote base URL")
    slack_api_url: str = Field(default="https://slack.com/api/", description="Slack Web API")
    clickup_api_url: str = Field(
        default="https://api.clickup.com/api/v2", description="ClickUp API v2")
    workspaces: Path = Field(
        default=Path(".switchboard/workspaces"),
        description="Agents' git working copies; github_push only pushes from below here",
    )
    timeout_seconds: float = Field(default=30.0, description="Timeout of one remote call")
    mcp: list[str] = Field(
        default_factory=list,
        description="MCP servers whose tools the gateway offers (command lines, JSON list)",
    )
    approval_timeout_seconds: int = Field(
        default=86400, ge=1, description="How long a run waits for a human approval by default "
        "(a grant's own timeout_seconds wins); then the call is denied")
    delegation_max_depth: int = Field(
        default=2, ge=1, description="Most levels of delegate below a run (a child of a child "
        "is depth 2)")
    delegation_max_fanout: int = Field(
        default=4, ge=1, description="Most agents one delegate call may start (an alias's)")


class ContextSettings(BaseSettings):
    """The context engine: embeddings, chunking, filtered vector search, thread summaries."""

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_CONTEXT_", extra="ignore",
                                      populate_by_name=True)

    embedder: Literal["onnx", "openai"] = Field(
        default="onnx",
        description="onnx: all-MiniLM-L6-v2 int8 offline (384 dimensions); openai: the "
                    "embeddings endpoint of OpenAI or a compatible server",
    )
    embed_batch_size: int = Field(default=32, ge=1, description="onnx: windows per model run")
    onnx_threads: int = Field(default=0, ge=0, description="onnx: CPU threads (0: all cores)")
    openai_model: str = Field(default="text-embedding-3-small", description="Embedding model")
    openai_dimensions: int = Field(
        default=384, ge=1, description="Vector size asked of the API; the store's column is 384")
    openai_base_url: str | None = Field(
        default=None, description="OpenAI-compatible base URL; unset means the OpenAI API")
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SWITCHBOARD_CONTEXT_OPENAI_API_KEY", "OPENAI_API_KEY"),
        description="Key for embeddings and the openai summarizer",
    )
    openai_timeout_seconds: float = Field(default=30.0, description="Timeout of one request")
    openai_batch_size: int = Field(default=256, ge=1, description="Inputs per embeddings request")
    chunk_tokens: int = Field(default=500, ge=16, description="Tokens per chunk (cl100k_base)")
    chunk_overlap: int = Field(default=50, ge=0, description="Tokens shared by adjacent chunks")
    ef_search: int = Field(
        default=400, ge=10, le=1000,
        description="hnsw.ef_search: candidates per step of the iterative HNSW scan (recall)")
    hnsw_candidates: int = Field(
        default=10, ge=1,
        description="Rows the filtered scan hands over for re-ranking by exact distance "
                    "(at least k)")
    summary_min_messages: int = Field(
        default=51, ge=2, description="A thread with at least this many messages is summarized")
    summarizer: Literal["extractive", "openai"] = Field(
        default="extractive",
        description="extractive: the most central sentences, offline, deterministic; "
                    "openai: a chat model writes it",
    )
    summary_model: str = Field(default="gpt-4o-mini", description="openai summarizer's model")
    summary_tokens: int = Field(default=300, ge=32, description="Longest summary, in tokens")
    summarize_every_seconds: int = Field(
        default=300, ge=5, description="How often the summarization schedule scans threads")


class AuthSettings(BaseSettings):
    """Human users' local accounts and their sessions (``/auth``)."""

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_AUTH_", extra="ignore")

    registration: bool = Field(
        default=False, description="Anyone may POST /auth/register (else only with an invitation)")
    access_ttl_seconds: int = Field(default=900, ge=60, description="User access token lifetime")
    refresh_ttl_seconds: int = Field(
        default=30 * 86400, ge=300, description="How long an unused refresh token stays valid")
    invitation_ttl_seconds: int = Field(
        default=7 * 86400, ge=300,
        description="How long an invitation from POST /admin/users lasts")
    scrypt_log_n: int = Field(
        default=17, ge=14, le=20,
        description="scrypt cost as log2(N), r=8, p=1: 17 is OWASP's minimum (128 MiB a hash)")


class OidcSettings(BaseSettings):
    """An OpenID Connect identity provider whose access tokens the API accepts."""

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_OIDC_", extra="ignore")

    issuer: str | None = Field(default=None, description="The provider's issuer (iss); unset: off")
    audience: str | None = Field(default=None, description="The aud the tokens must carry")
    jwks_url: str | None = Field(
        default=None, description="Its JWKS; unset: jwks_uri of <issuer>/.well-known/openid-"
                                  "configuration")
    groups_claim: str = Field(default="groups", description="Claim listing the user's groups")
    email_claim: str = Field(default="email", description="Claim naming the user (else sub)")
    role_map: dict[str, dict[str, str] | list[str] | str] = Field(
        default_factory=dict,
        description='Group -> roles, JSON: {"acme-ops": {"acme": "operator"}} or '
                    '{"acme-ops": "acme:operator"} (or a list of such strings)')


class Settings(BaseSettings):
    """Everything Switchboard reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", extra="ignore")

    dev_mode: bool = Field(default=False, description="Allow generated local secrets")
    data_dir: Path = Field(default=Path(".switchboard"), description="Embedded stack state")
    admin_token: SecretStr | None = Field(default=None, description="Bearer token for /admin")
    master_key: SecretStr | None = Field(
        default=None,
        description="Base64 of 32 bytes: AES-GCM key for integration secrets at rest",
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    vault: VaultSettings = Field(default_factory=VaultSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    context: ContextSettings = Field(default_factory=ContextSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    oidc: OidcSettings = Field(default_factory=OidcSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)
    worker_metrics: WorkerMetricsSettings = Field(default_factory=WorkerMetricsSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)

    @field_validator("master_key")
    @classmethod
    def _master_key_is_32_bytes(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        try:
            raw = base64.b64decode(value.get_secret_value(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("SWITCHBOARD_MASTER_KEY must be base64") from exc
        if len(raw) != 32:
            raise ValueError("SWITCHBOARD_MASTER_KEY must decode to 32 bytes")
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        token = self.admin_token.get_secret_value() if self.admin_token else None
        if token is not None and token.lower() in PLACEHOLDER_SECRETS:
            raise ValueError("SWITCHBOARD_ADMIN_TOKEN is a placeholder; set a real token")
        if token is not None and len(token) < 16 and not self.dev_mode:
            raise ValueError("SWITCHBOARD_ADMIN_TOKEN must be at least 16 characters")
        return self

    def master_key_bytes(self) -> bytes:
        """The decoded master key; raises if it was never configured."""
        if self.master_key is None:
            raise RuntimeError(
                "SWITCHBOARD_MASTER_KEY is not set (switchboard up generates one in the data dir)"
            )
        return base64.b64decode(self.master_key.get_secret_value())

