"""A reconciler as a runbook: a list of named step functions run in order by one loop.

A step returns None to go on, a `Wait` ("not yet: look again in N seconds", with what the
Operation and the Ready condition should say) or a `Failed`. The step functions' names are the
Operation's steps: the loop shows the steps before the one that stopped the pass DONE, that
one RUNNING (or BLOCKED) with its message, the rest PENDING — and it reports that once, at the
end of the pass, so an Operation changes only when what a client sees of it changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from workers.outcome import Failed, Outcome, Ready, RequeueAfter

DONE = "DONE"
RUNNING = "RUNNING"
PENDING = "PENDING"
BLOCKED = "BLOCKED"


@dataclass(frozen=True)
class StepState:
    """One line of an Operation's `steps`."""

    name: str
    state: str
    message: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "state": self.state, "message": self.message}


@dataclass(frozen=True)
class Wait:
    """A step's "not yet": requeue after `seconds`.

    `reason` is the Ready condition's reason, `message` what the condition, the Operation and
    the logs say. A step with a plan of its own (the roll, the partition moves) gives its
    progress in `percent` and its sub-steps in `detail`, shown right after the step."""

    seconds: float
    reason: str
    message: str
    percent: int | None = None
    detail: tuple[StepState, ...] = ()
    blocked: bool = False


P = TypeVar("P")
Step = Callable[[P], Wait | Failed | None]


def name_of(step: Callable[..., object]) -> str:
    return step.__name__


def progress(names: Sequence[str], at: int, wait: Wait) -> tuple[list[dict[str, str]], int]:
    """The Operation's steps and percent for a pass that stopped at step `at`."""
    out: list[dict[str, str]] = []
    for i, name in enumerate(names):
        if i < at:
            out.append(StepState(name, DONE).as_dict())
        elif i == at:
            state = BLOCKED if wait.blocked else RUNNING
            out.append(StepState(name, state, wait.message).as_dict())
            out += [s.as_dict() for s in wait.detail]
        else:
            out.append(StepState(name, PENDING).as_dict())
    percent = wait.percent if wait.percent is not None else int(100 * at / len(names))
    return out, percent


def run(
    steps: Sequence[Step[P]],
    p: P,
    waiting: Callable[[int, Wait], None],
) -> Outcome:
    """Run `steps` on the pass `p` until one stops it; `waiting(index, wait)` records a stop
    (status and progress, once). Ready when every step went on."""
    for i, step in enumerate(steps):
        result = step(p)
        if result is None:
            continue
        if isinstance(result, Wait):
            waiting(i, result)
            return RequeueAfter(result.seconds, result.message)
        return result
    return Ready()
