"""The three ways a reconcile pass ends, and the error kinds that lead to them.

A task maps an outcome to Celery: `Ready` acks, `RequeueAfter` re-sends the same message with a
countdown (waiting is a short requeue, never a sleep), `Failed` records a failed condition and
stops until the desired state changes (the sweeper does not retry it before then).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ready:
    """Converged: actual state matches the desired state of this generation."""

    message: str = "converged"


@dataclass(frozen=True)
class RequeueAfter:
    """Not done yet (pods starting, a dependency unreachable): look again in `seconds`."""

    seconds: float
    reason: str


@dataclass(frozen=True)
class Failed:
    """A permanent error: retrying the same desired state would fail the same way."""

    reason: str
    message: str


Outcome = Ready | RequeueAfter | Failed


class TransientError(Exception):
    """A dependency failed in a way that a later attempt may not (timeout, unreachable)."""


class PermanentError(Exception):
    """The desired state cannot be applied as it is (Kafka refused it as invalid)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
