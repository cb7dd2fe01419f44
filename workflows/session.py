"""SessionWorkflow: one agent's conversation on one thread, a turn per message (or burst).

Fed by signal "message" (signal-with-start from activities/sessions.py; histories begun before
it took update "submit", kept so they replay), it debounces a burst into one turn, runs each turn
as a child AgentRunWorkflow whose think sees the conversation so far, and tells each event's
EventWorkflow the turn's outcome (signal "turn_finished"). A message arriving mid-turn is queued
(enqueue), restarts the think with it (interrupt) or is refused (reject: the event is told at
once, and the sender in the thread). Idle past the agent's window, or on signal "close", it
closes and leaves an episodic summary in the agent's memory; a message arriving as it closes
opens the next session (continue-as-new with a new session id). It continues as new every
``CONTINUE_EVERY`` turns (or when Temporal suggests it), so its history stays bounded however
long the conversation; the keys of recent messages go along, so a message sent twice (a retried
submit) is applied once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from temporalio import workflow
from temporalio.common import Priority
from temporalio.exceptions import ChildWorkflowError, FailureError

with workflow.unsafe.imports_passed_through():
    from workflows import policies, search
    from workflows.agent_run import AgentRunWorkflow
    from workflows.contracts.agents import (
        RUN_VERSION,
        SESSION_VERSION,
        AgentOutcome,
        AgentRunInput,
        require_known,
    )
    from workflows.contracts.conversation import Conversation, ConversationTurn
    from workflows.contracts.sessions import (
        OutcomeRecord,
        SessionInput,
        SessionRecord,
        SessionState,
        SessionStep,
        SessionSubmit,
        TurnFinished,
    )
    from workflows.ids import session_run_id
    from workflows.session_fold import (
        answer_of,
        closing_episode,
        episode_part,
        fold,
        in_order,
        message_of,
        turn_event,
    )
    from workflows.session_intake import SessionIntake
    from workflows.session_steps import (
        outcome_row,
        record_session,
        record_step,
        record_turn,
        tell,
        write_episode,
    )

EPISODES_PATCH = "session-episodes"  # an episodic summary every N turns, not only at close
# a turn's run carries the attributes of a direct run, and its session's id
TURN_ATTRIBUTES_PATCH = "session-turn-attributes"
# Both changes above, and (new here) a run that begins with messages waiting goes straight to
# its turn, its session id set with its first status in one upsert. A patch costs each new run a
# marker and an upsert of TemporalChangeVersion: runs started with ``SessionInput.version`` 1
# (submit_to_session's, SESSION_VERSION; a continued run keeps its version) take all this
# without one; this marker stands for it in runs begun between the two (issue #17).
CURRENT_PATCH = "session-2026-12"
# Version 2 (SESSION_VERSION): a turn writes the session's row with its turn's row in one local
# activity at its start, and at its end the turn's row, its events' outcomes and the session's
# next status in another (one transaction each): two where there were five (issue #17).
CONTINUE_EVERY = 50  # turns per run before continuing as new


@workflow.defn(name="SessionWorkflow")
class SessionWorkflow(SessionIntake):
    """A long-lived conversation of one agent on one thread (its handlers: SessionIntake)."""

    @workflow.init
    def __init__(self, inp: SessionInput) -> None:
        state = inp.carried or SessionState(session_id="ses_" + workflow.uuid4().hex[:16])
        self.inp = inp
        self.state = state
        self.arrived = 0  # messages submitted to this run (debounce and interrupt watch it)
        self.turn_now = 0  # the turn being thought, 0 when none
        self.close_requested = state.close
        self.closing = False
        self.turns_this_run = 0
        self.late: list[SessionSubmit] = []  # messages that came while closing
        self.current = False
        self.merged = False  # version 2: a turn's rows in one write at its start and its end
        self.unlabelled = False  # the session id is still to be set with the first status

    def _patched(self, patch: str) -> bool:
        """Whether this run takes the change ``patch``: every new one does (CURRENT_PATCH)."""
        return self.current or workflow.patched(patch)

    @workflow.run
    async def run(self, inp: SessionInput) -> str:
        """Wait for messages, answer them turn by turn, close when idle or asked."""
        require_known(inp.version, SESSION_VERSION, "SessionWorkflow")
        self.current = self.unlabelled = inp.version >= 1 or workflow.patched(CURRENT_PATCH)
        self.merged = inp.version >= 2
        if not self.current:
            workflow.upsert_search_attributes([search.SESSION.value_set(self.state.session_id)])
        workflow.set_current_details(f"{inp.agent_id} on {inp.thread}")
        try:
            return await self._converse(inp)
        except FailureError:  # a failure that ends the run (a bug is retried as a task instead)
            await self._status("failed")
            raise

    async def _converse(self, inp: SessionInput) -> str:
        while not self.close_requested:
            if not (self.current and self.state.pending and not self.state.paused):
                await self._status("paused" if self.state.paused else "waiting")
            idle = timedelta(seconds=self.state.settings.idle_seconds)
            try:
                await workflow.wait_condition(
                    lambda: bool(self.state.pending and not self.state.paused)
                    or self.close_requested or self.state.paused != (self.status == "paused"),
                    timeout=idle)
            except TimeoutError:
                break
            if self.close_requested or not self.state.pending or self.state.paused:
                continue
            await self._debounce()
            await self._turn()
            if (self.turns_this_run >= CONTINUE_EVERY
                    or workflow.info().is_continue_as_new_suggested()):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(SessionInput(
                    tenant_id=inp.tenant_id, agent_id=inp.agent_id, thread=inp.thread,
                    version=inp.version,
                    carried=self.state.model_copy(update={"close": self.close_requested})))
        return await self._close()

    async def _debounce(self) -> None:
        """Let a burst gather: wait until no message came for the debounce window, at most the
        maximum wait after the first."""
        window = timedelta(milliseconds=self.state.settings.debounce_ms)
        deadline = workflow.now() + timedelta(milliseconds=self.state.settings.max_wait_ms)
        while window > timedelta(0):
            left = min(window, deadline - workflow.now())
            if left <= timedelta(0):
                return
            seen = self.arrived
            try:
                await workflow.wait_condition(
                    lambda seen=seen: self.arrived > seen or self.close_requested,  # type: ignore[misc]
                    timeout=left)
            except TimeoutError:
                return
            if self.close_requested:
                return

    async def _turn(self) -> None:
        """One turn: its messages, a think that sees the conversation, then the outcome told."""
        state = self.state
        state.turns += 1
        self.turns_this_run += 1
        n = self.turn_now = state.turns
        batch, state.pending = in_order(state.pending), []
        attempt = 0
        while True:
            attempt += 1
            messages = [message_of(s, workflow.now().isoformat()) for s in batch]
            turn = ConversationTurn(turn=n, messages=messages, status="running")
            if self.merged:
                await self._status("running", turn=turn)
            elif self.current:  # the session's row first: a run that began with messages waiting
                await self._status("running")  # has not written it yet (turns reference it)
                await self._record_turn(turn)
            else:
                await self._record_turn(turn)
                await self._status("running")
            outcome = await self._think(batch, n, attempt)
            if outcome is None:  # interrupted: the think restarts with every message so far
                batch, state.pending = in_order([*batch, *state.pending]), []
                continue
            break
        self.turn_now = 0
        done = turn.model_copy(update={
            "answer": answer_of(outcome), "tool_calls": outcome.tool_log,
            "status": "done" if outcome.status == "answered" else "failed"})
        if not self.merged:
            await self._record_turn(done)
        budget = batch[-1].target.context_token_budget
        state.summary, state.recent = fold(state.summary, [*state.recent, done], budget)
        told = TurnFinished(outcome=outcome.model_copy(update={"tool_log": []}),
                            session_id=state.session_id, turn=n)
        untold = batch
        if self.merged:  # the turn's row, its events' outcomes and what the session does next
            rows = [(s, outcome_row(s, told)) for s in batch]
            await self._status(self._after_turn(), turn=done,
                               outcomes=[row for _, row in rows if row is not None])
            untold = [s for s, row in rows if row is None]  # told by signal
        await asyncio.gather(*(tell(s, told) for s in untold))
        every = state.settings.summary_every
        if every and n - state.episodes_upto >= every and self._patched(EPISODES_PATCH):
            await write_episode(self.inp, state.session_id, episode_part(
                state.summary, state.recent, self.inp.thread, state.episodes_upto + 1, n))
            state.episodes_upto = n

    async def _think(self, batch: list[SessionSubmit], n: int, attempt: int
                     ) -> AgentOutcome | None:
        """Run the turn's AgentRunWorkflow; None if a message interrupted it."""
        last = batch[-1]
        run_id = session_run_id(batch[0].reply_to, self.inp.agent_id, attempt)
        conversation = Conversation(session_id=self.state.session_id, turn=n,
                                    summary=self.state.summary, turns=list(self.state.recent))
        event = turn_event(batch)
        attributes = (search.run_attributes(
            self.inp.tenant_id, self.inp.agent_id, event.kind.value, last.project_id,
            self.state.session_id) if self._patched(TURN_ATTRIBUTES_PATCH) else None)
        child = await workflow.start_child_workflow(
            AgentRunWorkflow.run,
            AgentRunInput(run_id=run_id, target=last.target, event=event,
                          project_id=last.project_id, gateway_queue=last.gateway_queue,
                          context=last.context, conversation=conversation,
                          version=RUN_VERSION if self.current else 0),
            id=run_id, static_summary=f"turn {n} of {self.state.session_id}",
            search_attributes=attributes,
            priority=policies.RUN_PRIORITY if self.current else Priority.default)
        mark = self.arrived
        await workflow.wait_condition(lambda: child.done() or (
            self.state.settings.policy == "interrupt" and self.arrived > mark))
        if not child.done():
            child.cancel()
            try:
                await child
            except (ChildWorkflowError, asyncio.CancelledError):
                workflow.logger.info("turn %d of %s interrupted", n, self.state.session_id)
            await self._record_turn(ConversationTurn(
                turn=n, messages=[message_of(s, workflow.now().isoformat()) for s in batch],
                status="interrupted"))
            return None
        try:
            return child.result()
        except ChildWorkflowError as err:
            return AgentOutcome(agent_id=last.target.agent_id, run_id=run_id, status="failed",
                                error=str(err.cause or err))

    async def _close(self) -> str:
        """Closed: the row says so, the agent keeps an episode, queued messages are refused."""
        self.closing = True
        state = self.state
        await self._status("closed")
        if state.turns > state.episodes_upto:  # the turns no episode covers yet
            await write_episode(self.inp, state.session_id, closing_episode(state, self.inp.thread))
        await workflow.wait_condition(workflow.all_handlers_finished)
        refused = AgentOutcome(agent_id=self.inp.agent_id, run_id=state.session_id,
                               status="rejected", error="the session closed before this message")
        await asyncio.gather(*(tell(s, TurnFinished(
            outcome=refused, session_id=state.session_id, turn=0)) for s in state.pending))
        if self.late:  # messages that came as it closed open the next session, on this id
            workflow.continue_as_new(SessionInput(
                tenant_id=self.inp.tenant_id, agent_id=self.inp.agent_id, thread=self.inp.thread,
                version=self.inp.version,
                carried=SessionState(session_id="ses_" + workflow.uuid4().hex[:16],
                                     pending=self.late, seen=state.seen,
                                     settings=self.late[-1].settings)))
        return state.session_id

    status = ""
    recorded: tuple[str, int] = ("", 0)

    def _after_turn(self) -> str:
        """The status a finished turn leaves: running on to the messages queued meanwhile,
        else paused or waiting (as the loop shows it next)."""
        if self.state.pending and not self.state.paused:
            return "running"
        return "paused" if self.state.paused else "waiting"

    async def _status(self, status: str, *, turn: ConversationTurn | None = None,
                      outcomes: Sequence[OutcomeRecord] = ()) -> None:
        """Show ``status`` (search attribute, row); the row is written when it or the turn
        count changed, or when a turn's row and its events' outcomes go with it (version 2:
        one local activity, one transaction)."""
        if status != self.status:
            self.status = status
            updates = [search.STATUS.value_set(status)]
            if self.unlabelled:
                self.unlabelled = False
                updates.append(search.SESSION.value_set(self.state.session_id))
            workflow.upsert_search_attributes(updates)
        if self.recorded == (status, self.state.turns) and turn is None and not outcomes:
            return
        self.recorded = (status, self.state.turns)
        rec = SessionRecord(
            session_id=self.state.session_id, tenant_id=self.inp.tenant_id,
            agent_id=self.inp.agent_id, thread=self.inp.thread,
            workflow_id=workflow.info().workflow_id, status=status,  # type: ignore[arg-type]
            turns=self.state.turns, summary=self.state.summary)
        if turn is None and not outcomes:
            await record_session(rec)
            return
        await record_step(SessionStep(session=rec, turn=turn, outcomes=list(outcomes)))

    async def _record_turn(self, turn: ConversationTurn) -> None:
        await record_turn(self.state.session_id, turn)

