# Switchboard's image: one image, one console script (`switchboard api|worker|migrate|agent run`).
#
# Two stages: `build` installs the package into a virtualenv (pip, wheels, build tools stay
# there); `runtime` copies only that virtualenv onto a fresh slim base and runs as an
# unprivileged user. The base is pinned to a precise Python patch release on Debian bookworm;
# pin it by digest as well (python:3.11.14-slim-bookworm@sha256:...) where your registry
# policy asks for it.

FROM python:3.11.14-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/switchboard
WORKDIR /src
COPY pyproject.toml README.md ./
COPY api ./api
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY infra ./infra
COPY cli ./cli
RUN /opt/switchboard/bin/pip install --no-compile . \
    && /opt/switchboard/bin/python -m compileall -q /opt/switchboard/lib


FROM python:3.11.14-slim-bookworm AS runtime

# git: the gateway's github_push intent pushes from the agents' working copies.
# ca-certificates: TLS to Slack, GitHub, ClickUp, OpenAI and Vault.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 switchboard \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/switchboard \
       --create-home --shell /usr/sbin/nologin switchboard

COPY --from=build /opt/switchboard /opt/switchboard

ENV PATH=/opt/switchboard/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SWITCHBOARD_HOST=0.0.0.0 \
    SWITCHBOARD_PORT=8000 \
    SWITCHBOARD_DATA_DIR=/home/switchboard/data \
    SWITCHBOARD_GATEWAY_WORKSPACES=/home/switchboard/workspaces

USER 10001:10001
WORKDIR /home/switchboard
RUN mkdir -p /home/switchboard/data /home/switchboard/workspaces

EXPOSE 8000
ENTRYPOINT ["switchboard"]
CMD ["api"]
