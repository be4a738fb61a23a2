"""The runbook loop: steps in order, the first stop recorded once, names as the steps."""

from __future__ import annotations

from workers.outcome import Failed, Ready, RequeueAfter
from workers.reconcilers import cluster, runbook
from workers.reconcilers.runbook import StepState, Wait


def test_the_cluster_runbook_names_every_step_once() -> None:
    assert cluster.STEP_NAMES[:2] == ["namespace", "secrets"]
    assert {"roll", "pods", "health", "placement", "active"} <= set(cluster.STEP_NAMES)
    assert len(set(cluster.STEP_NAMES)) == len(cluster.STEP_NAMES)
    # The e2e watchers tell a pod's sub-step from a runbook step by the space in its name.
    assert not any(" " in name for name in cluster.STEP_NAMES)


def test_progress_of_a_pass_stopped_at_a_step() -> None:
    steps, percent = runbook.progress(["a", "b", "c", "d"], 2, Wait(1.0, "R", "waiting"))
    assert [(s["name"], s["state"], s["message"]) for s in steps] == [
        ("a", "DONE", ""),
        ("b", "DONE", ""),
        ("c", "RUNNING", "waiting"),
        ("d", "PENDING", ""),
    ]
    assert percent == 50


def test_a_step_with_a_plan_shows_it_after_itself() -> None:
    plan = (StepState("broker kafka-broker-0", "BLOCKED", "why"),)
    wait = Wait(3.0, "Rolling", "blocked: why", percent=12, detail=plan, blocked=True)
    steps, percent = runbook.progress(["a", "roll", "b"], 1, wait)
    assert [(s["name"], s["state"]) for s in steps] == [
        ("a", "DONE"),
        ("roll", "BLOCKED"),
        ("broker kafka-broker-0", "BLOCKED"),
        ("b", "PENDING"),
    ]
    assert percent == 12


def test_the_loop_stops_at_the_first_wait_and_reports_it_once() -> None:
    ran: list[str] = []
    stops: list[tuple[int, Wait]] = []

    def one(p: object) -> None:
        ran.append("one")

    def two(p: object) -> Wait:
        ran.append("two")
        return Wait(2.5, "NotYet", "not yet")

    def three(p: object) -> None:
        ran.append("three")

    outcome = runbook.run([one, two, three], object(), lambda i, w: stops.append((i, w)))
    assert outcome == RequeueAfter(2.5, "not yet")
    assert ran == ["one", "two"]
    assert stops == [(1, Wait(2.5, "NotYet", "not yet"))]


def test_failed_ends_the_pass_without_a_progress_report() -> None:
    stops: list[tuple[int, Wait]] = []

    def refuse(p: object) -> Failed:
        return Failed("NO", "no")

    assert runbook.run([refuse], object(), lambda i, w: stops.append((i, w))) == Failed("NO", "no")
    assert stops == []
    assert runbook.run([], object(), lambda i, w: stops.append((i, w))) == Ready()
