"""The production compose stack, checked without a Docker engine.

docker-compose.yml is validated against the Compose Specification's JSON schema (vendored in
tests/fixtures/compose/), then cross-checked the way ``docker compose up`` would fail at run
time: services, volumes, networks and configs that exist, depends_on conditions that fit their
target, images pinned, only the API and the two UIs published, every ``${VAR}`` declared in
.env.example, and each Switchboard service's environment accepted by the app's own settings and
secret-store checks (infra/settings.py, infra/vault/).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import secrets
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from infra.settings import Settings
from infra.vault.hashicorp import HashiCorpSecretStore
from infra.vault.master_key import checked_master_key
from workflows import search

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SCHEMA = ROOT / "tests" / "fixtures" / "compose" / "compose-spec.json"

PUBLISHERS = {"api", "temporal-ui", "vault"}  # the API, the Temporal UI, the Vault UI
UIS = {"temporal-ui", "vault"}
SWITCHBOARD = {"migrate", "api", "worker", "agent-demo"}
_VAR = re.compile(r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\})")
_ENV_PREFIXES = ("DATABASE_", "TEMPORAL_", "VAULT_", "SWITCHBOARD_", "OPENAI_")


def _env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def _required() -> set[str]:
    """The variables docker-compose.yml refuses to start without (``${NAME:?...}``)."""
    return {m["name"] for m in _VAR.finditer(COMPOSE.read_text()) if m["op"] == ":?"}


def _make(name: str) -> str:
    key = base64.b64encode(os.urandom(32)).decode()
    if name.endswith("MASTER_KEY"):
        return key
    return f"k1:{key}" if name.endswith("PAYLOAD_KEYS") else secrets.token_hex(24)


def _filled_env() -> dict[str, str]:
    """.env.example with each required secret made the way its comment says."""
    return {name: value or (_make(name) if name in _required() else "")
            for name, value in _env_example().items()}


def _interpolate(value: Any, env: Mapping[str, str], used: set[str]) -> Any:
    """Compose's variable interpolation (${A}, ${A:-d}, ${A-d}, ${A:?e}, ${A?e}, $$)."""
    if isinstance(value, dict):
        return {k: _interpolate(v, env, used) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, used) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if name is None:
            return "$"
        used.add(name)
        got = env.get(name)
        missing = got is None or (got == "" and op is not None and op.startswith(":"))
        if op in (":?", "?") and missing:
            raise ValueError(f"required variable {name} is not set: {arg}")
        if op in (":-", "-") and missing:
            return arg
        return got or ""

    return _VAR.sub(one, value)


def _load(env: Mapping[str, str] | None = None) -> tuple[dict[str, Any], set[str]]:
    raw = yaml.safe_load(COMPOSE.read_text())
    used: set[str] = set()
    return _interpolate(raw, _filled_env() if env is None else env, used), used


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml after interpolation with a filled-in .env.example."""
    return _load()[0]


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def _depends(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def _one_shot(service: dict[str, Any]) -> bool:
    return str(service.get("restart", "no")).startswith(("no", "on-failure"))


def test_matches_the_compose_specification_schema(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    raw = yaml.safe_load(COMPOSE.read_text())
    for name, document in (("as written", raw), ("interpolated", compose)):
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in validator.iter_errors(document)]
        assert not errors, f"{name}: " + "\n".join(errors)


def test_the_schema_check_can_fail(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["api"]["depends_on"]["migrate"]["condition"] = "service_done"
    broken["services"]["worker"]["restart_policy"] = "always"
    schema = json.loads(SCHEMA.read_text())
    messages = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(broken)]
    assert any("service_done" in m for m in messages), messages
    assert any("restart_policy" in m for m in messages), messages


def test_every_reference_resolves(compose: dict[str, Any]) -> None:
    services = _services(compose)
    volumes, networks = set(compose.get("volumes", {})), set(compose.get("networks", {}))
    configs = set(compose.get("configs", {}))
    problems = []
    for name, service in services.items():
        for target, condition in _depends(service).items():
            if target not in services:
                problems.append(f"{name} depends on unknown service {target}")
            elif condition == "service_completed_successfully" and not _one_shot(services[target]):
                problems.append(f"{name} waits for {target} to complete, but it keeps running")
            elif condition == "service_healthy" and "healthcheck" not in services[target]:
                problems.append(f"{name} waits for {target} to be healthy; it has no healthcheck")
            elif condition == "service_started" and _one_shot(services[target]):
                problems.append(f"{name} only waits for the one-shot {target} to start")
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0] if isinstance(mount, str) else mount["source"]
            if not source.startswith((".", "/")) and source not in volumes:
                problems.append(f"{name} mounts undeclared volume {source}")
        for net in service.get("networks", []):
            if net not in networks:
                problems.append(f"{name} joins undeclared network {net}")
        for config in service.get("configs", []):
            if (config if isinstance(config, str) else config["source"]) not in configs:
                problems.append(f"{name} uses undeclared config {config}")
        if "restart" not in service:
            problems.append(f"{name} has no restart policy")
        elif not _one_shot(service) and name not in UIS and "healthcheck" not in service:
            problems.append(f"{name} keeps running without a health check")
    used_volumes = {m.split(":", 1)[0] if isinstance(m, str) else m["source"]
                    for s in services.values() for m in s.get("volumes", [])}
    problems += [f"volume {v} is declared but unused" for v in volumes - used_volumes]
    assert not problems, "\n".join(problems)


def test_start_order_has_no_cycle_and_jobs_gate_the_platform(compose: dict[str, Any]) -> None:
    services = _services(compose)

    def ancestors(name: str, seen: tuple[str, ...] = ()) -> Iterator[str]:
        assert name not in seen, f"depends_on cycle: {' -> '.join((*seen, name))}"
        for target in _depends(services[name]):
            yield target
            yield from ancestors(target, (*seen, name))

    for name in ("api", "worker"):
        before = set(ancestors(name))
        assert {"migrate", "temporal-namespace", "vault-init", "temporal-schema"} <= before, name
    assert "temporal-schema" in set(ancestors("temporal"))
    assert _depends(services["temporal"])["temporal-schema"] == "service_completed_successfully"
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["migrate"]["command"][0] == "migrate"


def test_images_are_pinned_and_current(compose: dict[str, Any]) -> None:
    images = {name: s["image"] for name, s in _services(compose).items()}
    for name, image in images.items():
        tag = image.rsplit("@", 1)[0].rsplit(":", 1)
        assert len(tag) == 2 and re.search(r"\d+\.\d+", tag[1]), f"{name}: {image} not pinned"
        assert "latest" not in image, f"{name}: {image}"
    assert not [i for i in images.values() if "auto-setup" in i], "auto-setup is deprecated"
    assert images["temporal"].startswith("temporalio/server:")
    assert images["temporal-schema"].startswith("temporalio/admin-tools:")
    assert images["temporal-ui"].startswith("temporalio/ui:")
    assert images["postgres"].startswith("pgvector/pgvector:0.8.") and "-pg16" in images["postgres"]
    assert images["vault"].startswith("hashicorp/vault:")
    assert {images[n] for n in SWITCHBOARD} == {images["api"]}
    assert all("build" in _services(compose)[n] for n in SWITCHBOARD)


def test_only_the_api_and_the_uis_are_published(compose: dict[str, Any]) -> None:
    services = _services(compose)
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == PUBLISHERS
    for name in UIS:
        for port in services[name]["ports"]:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} to every host"
    assert not [n for n, s in services.items() if s.get("network_mode") == "host"]


def test_namespace_job_registers_every_search_attribute(compose: dict[str, Any]) -> None:
    script = compose["configs"]["temporal-namespace-script"]["content"]
    missing = [key.name for key in search.ALL if key.name not in script]
    assert not missing, f"temporal-namespace does not register {missing}"
    assert "namespace create" in script
    schema_script = compose["configs"]["temporal-schema-script"]["content"]
    assert "temporal-sql-tool" in schema_script and "update-schema" in schema_script


def test_every_variable_is_declared_in_the_env_example() -> None:
    declared = _env_example()
    _, used = _load()
    assert sorted(used - set(declared)) == [], "used in docker-compose.yml, not in .env.example"
    assert sorted(set(declared) - used - {"COMPOSE_PROJECT_NAME"}) == []
    required = _required()  # no secret ships with a value; compose refuses each one left empty
    assert required == {"SWITCHBOARD_ADMIN_TOKEN", "SWITCHBOARD_MASTER_KEY",
                        "SWITCHBOARD_DB_PASSWORD", "TEMPORAL_DB_PASSWORD",
                        "SWITCHBOARD_VAULT_TOKEN", "SWITCHBOARD_PAYLOAD_KEYS"}
    assert {k for k in required if declared.get(k)} == set()
    for name in required:
        with pytest.raises(ValueError, match=f"{name} is not set"):
            _load({**_filled_env(), name: ""})


def _settings_of(service: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings the service's process would read from its environment."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES):
            monkeypatch.delenv(name)
    env = service.get("environment", {})
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    return Settings()


def _host(address: str) -> str:
    return address.split("://", 1)[-1].split("@")[-1].split("/")[0].rsplit(":", 1)[0]


def test_each_process_gets_what_the_app_requires(compose: dict[str, Any],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    services = _services(compose)
    for name in ("api", "worker"):
        settings = _settings_of(services[name], monkeypatch)
        assert not settings.dev_mode, name
        assert settings.database.url and _host(settings.database.url) == "postgres", name
        assert _host(settings.temporal.address) == "temporal", name
        assert settings.vault.backend == "hashicorp" and settings.vault.addr
        assert _host(settings.vault.addr) in services
        HashiCorpSecretStore(settings.vault)  # refuses a missing address or token
        assert len(checked_master_key(settings)) == 32  # refuses a missing or weak key
        assert (settings.admin_token is not None) == (name == "api"), name
        assert settings.temporal.payload.key_ring(), f"{name} would send plaintext payloads"
    ui_port = services["temporal-ui"]["ports"][0].split(":")[1]
    api = _settings_of(services["api"], monkeypatch)
    assert f"http://localhost:{ui_port}" in api.temporal.payload.ui_origins  # codec CORS
    for name in ("worker", "agent-demo"):  # health checked on the SDK's metrics endpoint
        served = _settings_of(services[name], monkeypatch).worker_metrics.address
        assert served and f"127.0.0.1:{served.rsplit(':', 1)[1]}/metrics" in " ".join(
            services[name]["healthcheck"]["test"]), name
    agent = _settings_of(services["agent-demo"], monkeypatch)
    assert _host(agent.temporal.address) == "temporal"
    assert agent.temporal.payload.key_ring() == api.temporal.payload.key_ring()
    assert agent.database.url is None and agent.master_key is None and agent.vault.token is None
    migrate = _settings_of(services["migrate"], monkeypatch)
    assert migrate.database.url == _settings_of(services["api"], monkeypatch).database.url
    db = services["postgres"]["environment"]
    assert migrate.database.url == (f"postgresql://{db['POSTGRES_USER']}:"
                                    f"{db['POSTGRES_PASSWORD']}@postgres:5432/{db['POSTGRES_DB']}")
    assert (services["vault-init"]["environment"]["APP_TOKEN"]
            == services["api"]["environment"]["VAULT_TOKEN"])


def test_dockerfile_is_multi_stage_pinned_and_unprivileged() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    stages = [line.split() for line in lines if line.upper().startswith("FROM ")]
    assert len(stages) >= 2, "not multi-stage"
    names = {words[3] for words in stages if len(words) >= 4 and words[2].upper() == "AS"}
    for words in stages:
        base = words[1]
        if base in names:
            continue
        assert "$" not in base and "latest" not in base, base
        assert "@sha256:" in base or re.search(r":\d+\.\d+\.\d+", base), f"{base} is not pinned"
    last = lines.index(next(line for line in reversed(lines) if line.upper().startswith("FROM ")))
    final = lines[last:]
    assert any(line.startswith("COPY --from=") for line in final), "final stage copies no build"
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0"), f"runs as {users}"
    assert not [line for line in final if line.upper().startswith("RUN") and "pip install" in line]
    entry = next(line for line in final if line.startswith("ENTRYPOINT"))
    assert json.loads(entry.split(None, 1)[1]) == ["switchboard"]


async def test_namespace_job_runs_against_a_real_temporal(compose: dict[str, Any],
                                                          temporal_client: Client) -> None:
    """The namespace job's script, run by sh with the real ``temporal`` CLI against the session's
    Temporal server: it creates a new namespace with every search attribute, and a rerun (each
    ``docker compose up``) succeeds and changes nothing."""
    script = compose["configs"]["temporal-namespace-script"]["content"]
    namespace = f"compose-{uuid.uuid4().hex[:8]}"
    env = {**compose["services"]["temporal-namespace"]["environment"],
           "TEMPORAL_ADDRESS": temporal_client.service_client.config.target_host,
           "NAMESPACE": namespace,
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    for run in ("first", "rerun"):
        proc = await asyncio.create_subprocess_exec(
            "sh", "-c", script, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 90)
        assert proc.returncode == 0, f"{run}: {out.decode()}"
        assert f"namespace {namespace} ready" in out.decode(), out.decode()
    listed = await temporal_client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace))
    assert {key.name for key in search.ALL} <= set(listed.custom_attributes)
