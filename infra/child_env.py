"""What ``switchboard up`` puts in each child's environment: what that child needs, no more.

A child's environment is readable by anything running as the same user (``/proc/<pid>/environ``)
and is inherited by whatever the child starts, so the platform's root secrets go only where they
are used: the master key and the database URL to the API and the platform worker, the admin
token to the API alone. The agent worker gets its own settings and Temporal's address, nothing
that opens the vault or the database; Temporal's server gets no settings of ours at all.
"""

from __future__ import annotations

from collections.abc import Mapping

# What any program needs to run here: where programs are, home, language, time zone, temp dir,
# how to reach the network (proxies, CA bundles).
_BASE = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM",
         "PYTHONPATH", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
         "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")

# Secrets ``up`` itself hands out (from the data dir or the environment), only to those that
# need them; never copied from the environment by prefix.
ROOT_SECRETS = ("SWITCHBOARD_ADMIN_TOKEN", "SWITCHBOARD_MASTER_KEY", "DATABASE_URL",
                "SWITCHBOARD_PAYLOAD_KEYS")
PAYLOAD_KEYS = "SWITCHBOARD_PAYLOAD_KEYS"  # Temporal payloads' keys: agents open their inputs

_PLATFORM_PREFIXES = ("DATABASE_", "TEMPORAL_", "VAULT_", "SWITCHBOARD_", "OTEL_")
_AGENT_PREFIX = "SWITCHBOARD_AGENT_"
_PYTHON = {"PYTHONUNBUFFERED": "1"}  # each line reaches the log as it is written


def base_env(environ: Mapping[str, str]) -> dict[str, str]:
    """PATH, HOME, locale, time zone, temp dir and network settings of ``environ``."""
    return {k: v for k, v in environ.items() if k in _BASE or k.startswith("LC_")}


def temporal_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The Temporal dev server's environment: only the base."""
    return base_env(environ)


def platform_env(environ: Mapping[str, str], secrets: Mapping[str, str], *,
                 admin: bool) -> dict[str, str]:
    """The API's (``admin``) or the platform worker's environment.

    Our settings from ``environ`` (database, Temporal, vault, Switchboard's, OpenAI's key for
    the context engine) but not the agents' ones; ``secrets`` holds the database URL, the master
    key and the admin token, of which only the API gets the token.
    """
    ours = {k: v for k, v in environ.items()
            if k.startswith(_PLATFORM_PREFIXES) and not k.startswith(_AGENT_PREFIX)
            and k not in ROOT_SECRETS}
    if "OPENAI_API_KEY" in environ:
        ours["OPENAI_API_KEY"] = environ["OPENAI_API_KEY"]
    given = {k: v for k, v in secrets.items()
             if k in ROOT_SECRETS and (admin or k != "SWITCHBOARD_ADMIN_TOKEN")}
    return {**base_env(environ), **ours, **given, **_PYTHON}


def agent_env(environ: Mapping[str, str], temporal: Mapping[str, str],
              secrets: Mapping[str, str] | None = None) -> dict[str, str]:
    """An agent worker's environment: its own settings, its LLM key and how to reach Temporal.

    ``temporal`` holds the ``TEMPORAL_*`` values ``up`` decided (the embedded server's address);
    of ``secrets`` only the payload keys (an agent reads the events sent to it).
    """
    ours = {k: v for k, v in environ.items()
            if k.startswith((_AGENT_PREFIX, "TEMPORAL_", "OTEL_"))
            or k in ("OPENAI_API_KEY", "SWITCHBOARD_LOG_LEVEL", "SWITCHBOARD_LOG_FORMAT",
                     "SWITCHBOARD_DEV_MODE")}
    given = {k: v for k, v in (secrets or {}).items() if k == PAYLOAD_KEYS}
    return {**base_env(environ), **ours, **temporal, **given, **_PYTHON}
