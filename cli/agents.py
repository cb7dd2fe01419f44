"""``switchboard agent run`` (an agent's worker on its own task queue) and ``switchboard agents
run`` (a manual run of an agent on a goal, over the admin API)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from cli.api_client import Api, CliError, handler
from cli.logs import configure_logging
from infra.settings import Settings


def cmd_agent_run(args: argparse.Namespace) -> int:
    """Run an agent's worker on its own task queue (``agent.<tenant>.<id>``)."""
    from infra import temporal, tracing
    from workers.agent import runtime_worker
    from workers.runtime import RuntimeConfigError, build_runtime
    from workflows.ids import agent_task_queue

    configure_logging()
    settings = Settings()
    overrides: dict[str, object] = {
        key: value for key, value in (
            ("llm", args.llm), ("model", args.model), ("base_url", args.base_url),
            ("script", Path(args.script) if args.script else None),
            ("prompt_file", Path(args.prompt) if args.prompt else None), ("mcp", args.mcp),
            ("tenant", args.tenant),
        ) if value is not None
    }
    agent_settings = settings.agent.model_copy(update=overrides)
    tenant = agent_settings.tenant
    if not tenant:
        print("switchboard agent run: the agent's tenant is required (--tenant or "
              "$SWITCHBOARD_AGENT_TENANT): agent ids are unique only within a tenant",
              file=sys.stderr)
        return 2

    async def main() -> None:
        log = logging.getLogger("switchboard")
        async with build_runtime(agent_settings, args.agent_id) as runtime:
            tracing.configure(settings.tracing, f"switchboard-agent-{args.agent_id}")
            client = await temporal.connect(
                settings.temporal, runtime=temporal.worker_runtime(settings.worker_metrics))
            worker = runtime_worker(client, tenant, runtime)
            stop = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            log.info("agent %s of %s polling %s: %s", args.agent_id, tenant,
                     agent_task_queue(tenant, args.agent_id), runtime.describe())
            running = asyncio.create_task(worker.run())
            stopping = asyncio.create_task(stop.wait())
            beating = asyncio.create_task(_heartbeats(client, settings, agent_settings, tenant,
                                                      args.agent_id))
            await asyncio.wait([running, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            beating.cancel()
            if not running.done():  # finish the steps in flight, then stop the MCP servers
                await worker.shutdown()
            await running
        log.info("agent %s stopped", args.agent_id)

    try:
        asyncio.run(main())
    except RuntimeConfigError as err:
        print(f"switchboard agent run: {err}", file=sys.stderr)
        return 2
    return 0


async def _heartbeats(client: Any, settings: Settings, agent: Any, tenant_id: str,
                      agent_id: str) -> None:
    """PING the agent's presence workflow every interval while the worker runs."""
    from infra.governance import presence

    log = logging.getLogger("switchboard")
    while True:
        try:
            await presence.heartbeat(client, settings.temporal.task_queue, tenant_id, agent_id,
                                     agent.heartbeat_seconds)
        except Exception as err:  # Temporal away: try again next beat
            log.warning("heartbeat of %s not sent: %s", agent_id, type(err).__name__)
        await asyncio.sleep(agent.heartbeat_seconds)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard agent run``."""
    agent = sub.add_parser("agent", help="agent runtime")
    agent_sub = agent.add_subparsers(dest="agent_command", required=True)
    run = agent_sub.add_parser("run", help="run one agent's worker")
    run.add_argument("--agent-id", required=True)
    run.add_argument("--tenant", help="the agent's tenant (required, or $SWITCHBOARD_AGENT_TENANT):"
                                      " it names the task queue with the agent id")
    run.add_argument("--llm", choices=["demo", "openai", "scripted"],
                     help="the agent's brain (default $SWITCHBOARD_AGENT_LLM or demo)")
    run.add_argument("--model", help="model name (default $SWITCHBOARD_AGENT_MODEL)")
    run.add_argument("--base-url", help="OpenAI-compatible base URL (default the OpenAI API)")
    run.add_argument("--script", metavar="FILE", help="JSON script for --llm scripted")
    run.add_argument("--prompt", metavar="FILE", help="system prompt template file")
    run.add_argument("--mcp", action="append", metavar="'[PREFIX=]COMMAND ARGS...'",
                     help="attach an MCP server over stdio as a skill set (repeatable; replaces "
                          "$SWITCHBOARD_AGENT_MCP), e.g. "
                          "--mcp 'time=mcp-server-time --local-timezone UTC'")
    run.set_defaults(func=cmd_agent_run)


# ``switchboard agents run ID --goal ...``: a manual run over the admin API (issue #15). The
# ``agents`` group itself is cli/admin_agents.py's; it adds this command with add_run_command.

_DONE = ("answered", "max_turns", "expired", "failed", "rejected", "interrupted")


def cmd_agents_run(args: argparse.Namespace, api: Api) -> int:
    """Start a run of the agent on the goal, print its progress, then its final answer."""
    import time

    try:
        context = json.loads(args.context) if args.context else {}
    except ValueError as err:
        raise CliError(f"--context is not JSON: {err}") from None
    if not isinstance(context, dict):
        raise CliError("--context must be a JSON object")
    started = api.call("POST", f"/admin/tenants/{api.tenant}/agents/{args.id}/runs",
                       json={"goal": args.goal, "context": context})
    run_id = started["run_id"]
    print(f"started {run_id}", file=sys.stderr, flush=True)
    deadline = time.monotonic() + args.timeout
    said: set[str] = set()
    while True:
        run = api.call("GET", f"/admin/tenants/{api.tenant}/runs/{run_id}")
        for line in _progress(run):
            if line not in said:
                said.add(line)
                print(line, file=sys.stderr, flush=True)
        if run["status"] in _DONE:
            break
        if time.monotonic() > deadline:
            raise CliError(f"no answer within {args.timeout:g} s; the run goes on: "
                           f"switchboard runs are listed at /admin/tenants/{api.tenant}/runs")
        time.sleep(0.2)
    if args.json:
        print(json.dumps(run, indent=2))
    elif run["final"] is not None:
        print(run["final"])
    if run["status"] != "answered":
        print(f"run {run_id} ended {run['status']}: {run.get('error') or 'no answer'}",
              file=sys.stderr)
        return 1
    return 0


def _progress(run: dict[str, Any]) -> list[str]:
    """What a run has done so far, one line a step (printed once each)."""
    lines = []
    if run["status"] == "waiting":
        lines.append(f"waiting (for a worker of agent {run['agent_id']}, or the kill switch)")
    lines += [f"turn {t}: thinking" for t in range(1, run["turns"] + 1)]
    for call in run["tool_calls"]:
        lines.append(f"turn {call['turn']}: tool {call['name']}"
                     f"({json.dumps(call['arguments'])})")
        if call["result"] is not None:
            lines.append(f"turn {call['turn']}: {call['name']} -> "
                         f"{'ERROR ' if call['is_error'] else ''}{call['result'][:200]}")
    lines.append(f"status: {run['status']}")
    return lines


def add_run_command(agents_sub: argparse._SubParsersAction[argparse.ArgumentParser],
                    common: argparse.ArgumentParser) -> None:
    """Add ``run`` to the ``switchboard agents`` group."""
    run = agents_sub.add_parser("run", parents=[common],
                                help="start a run on a goal, wait, print the answer")
    run.add_argument("id", help="the agent's id")
    run.add_argument("--goal", required=True, help="what the agent should do")
    run.add_argument("--context", metavar="JSON", help="facts for the agent (a JSON object)")
    run.add_argument("--timeout", type=float, default=300.0,
                     help="seconds to wait for the answer (default 300)")
    run.add_argument("--json", action="store_true", help="print the whole run as JSON")
    run.set_defaults(func=handler("agents", cmd_agents_run, Api))
