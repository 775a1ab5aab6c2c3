"""A turn in which a custom action failed is not saved: turns are all-or-nothing.

Rasa 3.6 catches a failed custom action (`MessageProcessor._run_action`: "Bot will continue, but
the actions events are lost"; `ActionExtractSlots` likewise for custom slot mappings), drops its
events and carries on. During an action-server outage a citizen's answer to a form question would
be recorded but never validated, the dialogue would move on without it and the citizen would hear
nothing useful.

The patch wraps `RemoteAction.run`, the one place where Rasa calls the action server (custom
actions, the forms' `validate_<form>` calls, custom slot mappings). When the call raises, the
current turn is marked as failed in a ContextVar and the exception goes on to Rasa unchanged. The
tracker store (bot.rasa_ext.tracker_store, `fail_turn_on_action_error: true`) then refuses to save
the turn (:class:`ActionServerFailure`): the citizen gets the channel's "잠시 후 다시 말씀해 주세요"
answer and the stored conversation stays exactly as before the message, so resending it after the
restart continues the form where it was.

Every exception of the call counts (Rasa's RasaException for a refused connection or a non-200
answer, asyncio.TimeoutError of a hanging server, jsonschema's ValidationError of an invalid
answer, a 400 answer whose body is not JSON), except `ActionExecutionRejection`: a 400 answer
with a rejection is how a form rejects a value, a normal turn. Cancellation (a BaseException) is
not a failure of the action server.

The mark lives in the turn's context: Rasa awaits the actions in the same asyncio task that later
saves the tracker (Sanic handles each request in its own task, so concurrent turns never see each
other's marks). The store clears it when a turn starts (its `retrieve`) and when it refuses a turn.

Applied by bot.rasa_ext.install(); idempotent.
"""

from __future__ import annotations

import functools
from contextvars import ContextVar
from typing import Any

from rasa.shared.exceptions import RasaException

_MARKER = "_sotong_failed_turn_detection"
_failure: ContextVar[str | None] = ContextVar("sotong_failed_turn", default=None)


class ActionServerFailure(RasaException):
    """A custom action could not be run in this turn; the turn is not saved."""


def install() -> bool:
    """Wraps RemoteAction.run; False if it was already wrapped."""
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction

    if getattr(RemoteAction, _MARKER, None) is not None:
        return False
    original = RemoteAction.run

    @functools.wraps(original)
    async def run(self: RemoteAction, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(self, *args, **kwargs)
        except ActionExecutionRejection:
            raise
        except Exception as error:
            mark_failed(f"custom action '{self.name()}': {type(error).__name__}: {error}")
            raise

    RemoteAction.run = run
    setattr(RemoteAction, _MARKER, original)
    return True


def mark_failed(reason: str) -> None:
    """Marks the current turn as failed (the first reason is kept)."""
    if _failure.get() is None:
        _failure.set(reason.splitlines()[0][:300] if reason else "failed")


def start_turn() -> None:
    """Forgets any mark: a new turn begins in this context."""
    _failure.set(None)


def failure() -> str | None:
    """Why the current turn failed, or None."""
    return _failure.get()


def refuse_failed_turn(sender_id: str) -> None:
    """Raises ActionServerFailure (and clears the mark) if the current turn failed."""
    reason = _failure.get()
    if reason is not None:
        _failure.set(None)
        raise ActionServerFailure(f"turn of '{sender_id}' not saved: {reason}")
