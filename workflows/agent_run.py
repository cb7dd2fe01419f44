"""AgentRunWorkflow: one agent's Think-Act-Observe loop on one event."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import policies
    from workflows.contracts import AgentOutcome, AgentRunInput, ThinkInput, ThinkOutput
    from workflows.ids import agent_task_queue

THINK_ACTIVITY = "think"


@workflow.defn(name="AgentRunWorkflow")
class AgentRunWorkflow:
    """Think on the agent's own queue; run the tools it asks for; stop at an answer or max turns.

    The think step runs on ``agent.<agent id>``: if no worker of that agent is up, the task waits
    in the queue, which is the swarm's durable buffer.
    """

    @workflow.run
    async def run(self, inp: AgentRunInput) -> AgentOutcome:
        """Loop until the agent gives a final answer."""
        observations: list[str] = []
        for turn in range(1, inp.max_turns + 1):
            decision = await workflow.execute_activity(
                THINK_ACTIVITY,
                ThinkInput(
                    run_id=inp.run_id, agent_id=inp.agent_id, turn=turn, event=inp.event,
                    observations=observations,
                ),
                result_type=ThinkOutput,
                task_queue=agent_task_queue(inp.agent_id),
                activity_id=f"think/{turn}",
                start_to_close_timeout=policies.THINK_TIMEOUT,
                retry_policy=policies.THINK,
            )
            if decision.final is not None:
                return AgentOutcome(agent_id=inp.agent_id, run_id=inp.run_id, final=decision.final)
            # No tool is available to agents yet: each call is answered with an error the agent
            # can see and react to, instead of being dropped.
            observations = observations + [
                f"tool {call.name!r} failed: no tool of that name is available to this agent"
                for call in decision.tool_calls
            ]
        return AgentOutcome(
            agent_id=inp.agent_id, run_id=inp.run_id,
            error=f"no final answer after {inp.max_turns} turns",
        )
