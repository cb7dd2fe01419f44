"""SessionWorkflow's handlers: how a message, a pause, a resume or a close gets in.

A message comes by signal "message" (signal-with-start from activities/sessions.py) or, in
histories begun before it, by update "submit". Either way it is applied once per key (event
workflow id and agent), the keys of the last ``SEEN_KEPT`` messages travelling with the state
across continue-as-new, so a message sent twice (a retried submit, a redelivered event) is
queued once.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.contracts.sessions import SessionInput, SessionState, SessionSubmit, SubmitResult
    from workflows.session_steps import refuse

SEEN_KEPT = 200  # submit keys remembered across runs (a retried submit applies once)


class SessionIntake:
    """The handlers of SessionWorkflow, over the state its run works on."""

    inp: SessionInput
    state: SessionState
    arrived: int  # messages queued in this run (debounce and interrupt watch it)
    turn_now: int  # the turn being thought, 0 when none
    close_requested: bool
    closing: bool
    late: list[SessionSubmit]  # messages that came while closing: they open the next session

    @workflow.signal(name="message")
    async def message(self, sub: SessionSubmit) -> None:
        """Take a message: queued for the forming or next turn, joined to the running one
        (interrupt), or refused while a turn runs (reject: the event hears it at once by
        "turn_finished", the sender by a reply in the thread). A key already seen is a resent
        message and changes nothing."""
        key = submit_key(sub)
        if key in self.state.seen:
            return
        self.state.seen = [*self.state.seen, key][-SEEN_KEPT:]
        if self.closing:  # too late for this session: it opens the next one
            self.late.append(sub)
            return
        self.state.settings = sub.settings
        if self.turn_now and sub.settings.policy == "reject":
            await refuse(sub, self.state.session_id, self._busy())
            return
        self._queue(sub)

    @workflow.update
    def submit(self, sub: SessionSubmit) -> SubmitResult:
        """Take a message (update-with-start, before signal "message"): as the signal, but the
        answer says what became of it."""
        key = submit_key(sub)
        sid = self.state.session_id
        if key in self.state.seen:
            return SubmitResult(accepted=True, session_id=sid, turn=0, reason="already submitted")
        self.state.settings = sub.settings
        if self.turn_now and sub.settings.policy == "reject":
            return SubmitResult(accepted=False, session_id=sid, turn=0, reason=self._busy())
        self.state.seen = [*self.state.seen, key][-SEEN_KEPT:]
        return SubmitResult(accepted=True, session_id=sid, turn=self._queue(sub))

    def _queue(self, sub: SessionSubmit) -> int:
        """Queue a message for the forming or next turn (or the running one, under interrupt);
        the turn it belongs to."""
        self.state.pending.append(sub)
        self.arrived += 1
        if self.turn_now and sub.settings.policy == "interrupt":
            return self.turn_now
        return self.state.turns + 1 + (1 if self.turn_now else 0)

    def _busy(self) -> str:
        sid = self.state.session_id
        return f"agent {self.inp.agent_id} is busy with turn {self.turn_now} of session {sid}"

    @submit.validator
    def _submit_open(self, sub: SessionSubmit) -> None:
        if self.closing:  # refused before it is recorded: the caller retries into a new run
            raise ApplicationError("the session is closing")

    @workflow.signal
    def pause(self) -> None:
        """Hold turns (messages still queue) until resumed."""
        self.state.paused = True

    @workflow.signal
    def resume(self) -> None:
        """Run queued messages again."""
        self.state.paused = False

    @workflow.signal
    def close(self) -> None:
        """Close now (after the running turn)."""
        self.close_requested = True


def submit_key(sub: SessionSubmit) -> str:
    """What makes a message one: its event workflow and agent (a resent one has the same)."""
    return f"{sub.reply_to}/{sub.target.agent_id}"
