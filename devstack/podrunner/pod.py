"""One pod's life on the devstack node: what the kubelet's pod worker does.

A `PodWorker` thread owns one pod (by UID): it creates the pod's network namespace, provides
its volumes, runs init containers to completion, then the containers; it runs startup,
readiness and liveness probes, restarts containers as restartPolicy says (with the kubelet's
doubling back-off), and writes the pod status (phase, conditions, podIP, container states)
whenever it changes. On deletion it runs preStop hooks, sends SIGTERM, waits the grace period,
sends SIGKILL, then removes the pod object and its namespace.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from devstack.kube.rest import MERGE_PATCH, KubeApiError, KubeRest
from devstack.podrunner.env import EnvError, PathMap, build_env, command_line
from devstack.podrunner.images import ImageNotRunnable, ImagePlan, resolve
from devstack.podrunner.network import PodNet, PodNetwork
from devstack.podrunner.paths import pod_dir_name
from devstack.podrunner.process import (
    ContainerProcess,
    ExecContext,
    find_executable,
    now_rfc3339,
    run_handler,
)
from devstack.podrunner.volumes import PodVolumes, VolumeError, VolumePending

JsonDict = dict[str, Any]
log = logging.getLogger("devstack.podrunner.pod")

OUR_CONDITIONS = (
    "PodReadyToStartContainers",
    "Initialized",
    "ContainersReady",
    "Ready",
    "PodScheduled",
)
MAX_BACKOFF = 300.0
# A container that ran this long without failing gets its back-off reset (the kubelet's rule).
BACKOFF_RESET_AFTER = 600.0
VOLUME_REFRESH_EVERY = 30.0


class RunnerContext(Protocol):
    """What a pod worker needs from the runner."""

    rest: KubeRest
    network: PodNetwork
    node_name: str
    host_ip: str
    allocatable: dict[str, str]
    pods_dir: Path
    restart_backoff: float

    def kafka_home(self, version: str) -> Path: ...
    def publish_dns(self, uid: str, entry: DnsEntry | None) -> None: ...
    def hosts_file_for(self, uid: str) -> str: ...
    def event(self, pod: JsonDict, kind: str, reason: str, message: str) -> None: ...
    def worker_done(self, uid: str) -> None: ...


@dataclass(frozen=True)
class DnsEntry:
    namespace: str
    hostname: str
    subdomain: str
    ip: str


@dataclass
class Probe:
    spec: JsonDict
    next_due: float = 0.0
    successes: int = 0
    failures: int = 0
    result: bool | None = None

    @property
    def period(self) -> float:
        return float(self.spec.get("periodSeconds", 10))

    @property
    def timeout(self) -> float:
        return float(self.spec.get("timeoutSeconds", 1))

    def reset(self, started: float) -> None:
        self.next_due = started + float(self.spec.get("initialDelaySeconds", 0))
        self.successes = self.failures = 0
        self.result = None


@dataclass
class Container:
    """The runner's view of one container of the pod."""

    spec: JsonDict
    init: bool = False
    plan: ImagePlan | None = None
    proc: ContainerProcess | None = None
    ctx: ExecContext | None = None
    restart_count: int = 0
    state: JsonDict = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: JsonDict = field(default_factory=dict)
    ready: bool = False
    started: bool = False
    restart_at: float = 0.0  # monotonic time of the next (re)start
    backoff: float = 0.0
    started_mono: float = 0.0
    done: bool = False  # terminated and will not run again
    stop_reason: str = ""  # why the runner is stopping it (liveness, deletion)
    startup: Probe | None = None
    readiness: Probe | None = None
    liveness: Probe | None = None

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    def container_id(self) -> str:
        return f"devstack://{self.proc.pid}" if self.proc else ""


class PodWorker(threading.Thread):
    def __init__(self, runner: RunnerContext, pod: JsonDict) -> None:
        meta = pod["metadata"]
        super().__init__(name=f"pod-{meta['namespace']}/{meta['name']}", daemon=True)
        self.runner = runner
        self.rest = runner.rest
        self.uid: str = meta["uid"]
        self.namespace: str = meta["namespace"]
        self.pod_name: str = meta["name"]
        self.pod = pod
        self.dir = runner.pods_dir / pod_dir_name(meta)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._delete_grace: float | None = None
        self._object_gone = False
        self._shutdown = False
        self.net: PodNet | None = None
        self.volumes: PodVolumes | None = None
        self.start_time = now_rfc3339()
        self.transitions: dict[str, tuple[str, str]] = {}
        self.last_sent: JsonDict | None = None
        self.pod_message = ""
        spec = pod["spec"]
        self.policy: str = spec.get("restartPolicy", "Always")
        self.init_containers = [Container(c, init=True) for c in spec.get("initContainers", [])]
        self.containers = [Container(c) for c in spec.get("containers", [])]
        self.initialized = not self.init_containers
        self.failed_init = False

    # -- inputs from the runner ---------------------------------------------------------------

    def update(self, pod: JsonDict) -> None:
        with self._lock:
            self.pod = pod
            meta = pod["metadata"]
            if meta.get("deletionTimestamp") and self._delete_grace is None:
                grace = meta.get("deletionGracePeriodSeconds")
                if grace is None:
                    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
                self._delete_grace = float(grace)
        self._wake.set()

    def gone(self) -> None:
        """The object was removed (force deletion): stop with the pod's grace, write nothing."""
        with self._lock:
            self._object_gone = True
            if self._delete_grace is None:
                self._delete_grace = float(
                    self.pod["spec"].get("terminationGracePeriodSeconds", 30)
                )
        self._wake.set()

    def shutdown(self, grace_cap: float) -> None:
        """The node is going away: stop the containers (grace capped), write nothing."""
        with self._lock:
            self._shutdown = True
            grace = float(self.pod["spec"].get("terminationGracePeriodSeconds", 30))
            self._delete_grace = min(self._delete_grace or grace, grace_cap)
        self._wake.set()

    @property
    def deleting(self) -> bool:
        return self._delete_grace is not None

    # -- the worker ---------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._run()
        except Exception:
            log.exception("pod %s/%s: worker failed", self.namespace, self.pod_name)
            self._stop_all(0.0)
        finally:
            self._teardown()
            self.runner.worker_done(self.uid)

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(max(0.0, seconds))
        self._wake.clear()

    def _run(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.net = self.runner.network.create(self.uid)
        spec = self.pod["spec"]
        hostname = spec.get("hostname") or self.pod_name[:63]
        self.hostname = hostname
        self.runner.publish_dns(
            self.uid, DnsEntry(self.namespace, hostname, spec.get("subdomain", ""), self.net.ip)
        )
        self._push_status()
        if not self._prepare():
            return
        if not self._run_init_containers():
            return
        for c in self.containers:
            c.restart_at = time.monotonic()
        next_refresh = time.monotonic() + VOLUME_REFRESH_EVERY
        while True:
            if self.deleting:
                self._terminate()
                return
            wait = self._tick(self.containers)
            if time.monotonic() >= next_refresh and self.volumes is not None:
                self.volumes.refresh()
                next_refresh = time.monotonic() + VOLUME_REFRESH_EVERY
            self._push_status()
            if self._terminal_phase():
                # Succeeded/Failed: nothing runs again; wait for deletion, as the kubelet does.
                while not self.deleting:
                    self._sleep(60)
                self._terminate()
                return
            self._sleep(min(wait, 0.5))

    def _prepare(self) -> bool:
        """Volumes, images and environments; False when the pod is deleted while waiting."""
        all_containers = self.init_containers + self.containers
        while True:
            if self.deleting:
                self._terminate()
                return False
            try:
                self.volumes = PodVolumes(self.pod, self.dir, self.rest, self.runner.allocatable)
                self.volumes.materialize()
                break
            except VolumePending as exc:
                self._wait_all(all_containers, "ContainerCreating", str(exc))
            except (VolumeError, KubeApiError, httpx.HTTPError) as exc:
                self._wait_all(all_containers, "CreateContainerConfigError", str(exc))
            self._push_status()
            self._sleep(1.0)
        for c in all_containers:
            try:
                c.plan = resolve(str(c.spec.get("image", "")), self.runner.kafka_home)
            except ImageNotRunnable as exc:
                c.state = {"waiting": {"reason": exc.reason, "message": exc.message}}
                self.runner.event(
                    self.pod, "Warning", "Failed", f"container {c.name}: {exc.message}"
                )
        self._push_status()
        return True

    @staticmethod
    def _wait_all(containers: list[Container], reason: str, message: str) -> None:
        for c in containers:
            c.state = {"waiting": {"reason": reason, "message": message}}

    def _exec_context(self, c: Container) -> ExecContext:
        """Environment, command paths and working directory of a container (re-read at each
        start, as a restarted container sees current ConfigMaps and Secrets)."""
        if c.plan is None or self.volumes is None or self.net is None:
            raise RuntimeError(f"container {c.name} started before its pod was prepared")
        pod = dict(self.pod)
        pod["status"] = dict(pod.get("status", {}), **self._ip_status())
        env = build_env(
            pod,
            c.spec,
            c.plan.env,
            lambda kind, name: self.rest.get_or_none(
                f"/api/v1/namespaces/{self.namespace}/{kind}/{name}"
            ),
            self.runner.allocatable,
        )
        mounts = dict(c.plan.paths)
        mounts.update(self.volumes.mounts_for(c.spec))
        paths = PathMap(mounts)
        env = {k: paths.rewrite(v) for k, v in env.items()}
        workdir = c.spec.get("workingDir")
        cwd = paths.rewrite(workdir) if workdir else str(self.dir)
        Path(cwd).mkdir(parents=True, exist_ok=True)
        ports = {
            p["name"]: int(p["containerPort"]) for p in c.spec.get("ports", []) if p.get("name")
        }
        return ExecContext(self.net.netns, self.hostname, self.net.ip, env, cwd, paths, ports)

    def _start(self, c: Container) -> None:
        assert c.plan is not None
        try:
            ctx = self._exec_context(c)
            argv = command_line(c.spec, c.plan.entrypoint, c.plan.cmd, ctx.env)
            argv = ctx.paths.rewrite_all(argv)
        except (EnvError, VolumeError, KubeApiError, httpx.HTTPError) as exc:
            c.state = {"waiting": {"reason": "CreateContainerConfigError", "message": str(exc)}}
            c.restart_at = time.monotonic() + 2.0
            return
        if find_executable(argv[0], ctx.env) is None:
            message = f'exec: "{argv[0]}": executable file not found in $PATH'
            now = now_rfc3339()
            self._record_exit(c, 128, "StartError", message, now, now)
            self.runner.event(self.pod, "Warning", "Failed", f"container {c.name}: {message}")
            return
        logs = self.dir / "logs"
        current = logs / f"{c.name}.log"
        if current.exists() and (c.restart_count > 0 or c.last_state):
            current.replace(logs / f"{c.name}.previous.log")
        c.ctx = ctx
        c.proc = ContainerProcess(ctx, argv, current)
        c.started_mono = time.monotonic()
        c.state = {"running": {"startedAt": c.proc.started_at}}
        c.stop_reason = ""
        c.ready = False
        c.startup = Probe(c.spec["startupProbe"]) if c.spec.get("startupProbe") else None
        c.readiness = Probe(c.spec["readinessProbe"]) if c.spec.get("readinessProbe") else None
        c.liveness = Probe(c.spec["livenessProbe"]) if c.spec.get("livenessProbe") else None
        for probe in (c.startup, c.readiness, c.liveness):
            if probe is not None:
                probe.reset(c.started_mono)
        c.started = c.startup is None
        self.runner.event(self.pod, "Normal", "Started", f"Started container {c.name}")
        post_start = c.spec.get("lifecycle", {}).get("postStart")
        if post_start:
            ok, message = run_handler(post_start, ctx, self._grace())
            if not ok:
                self.runner.event(
                    self.pod, "Warning", "FailedPostStartHook", f"{c.name}: {message}"
                )
                c.stop_reason = "FailedPostStartHook"
                c.proc.begin_stop(self._grace())

    def _grace(self) -> float:
        return float(self.pod["spec"].get("terminationGracePeriodSeconds", 30))

    def _record_exit(
        self, c: Container, code: int, reason: str, message: str, started: str, finished: str
    ) -> None:
        terminated: JsonDict = {
            "exitCode": code,
            "reason": reason,
            "startedAt": started,
            "finishedAt": finished,
        }
        if message:
            terminated["message"] = message
        if c.proc is not None:
            terminated["containerID"] = c.container_id()
        restart = self.policy == "Always" or (self.policy == "OnFailure" and code != 0)
        if c.init and self.policy == "Always":
            restart = code != 0  # init containers re-run only until they succeed
        c.ready = False
        c.started = False
        if not restart:
            c.state = {"terminated": terminated}
            c.done = True
            return
        c.last_state = {"terminated": terminated}
        ran = time.monotonic() - c.started_mono if c.started_mono else 0.0
        if ran >= BACKOFF_RESET_AFTER:
            c.backoff = 0.0
        delay = c.backoff
        c.backoff = min(max(c.backoff * 2, self.runner.restart_backoff), MAX_BACKOFF)
        c.restart_count += 1
        c.restart_at = time.monotonic() + delay
        if delay > 0:
            c.state = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off {delay:g}s restarting failed container={c.name} "
                    f"pod={self.pod_name}_{self.namespace}({self.uid})",
                }
            }
            self.runner.event(
                self.pod, "Warning", "BackOff", f"Back-off restarting failed container {c.name}"
            )
        else:
            c.state = {"waiting": {"reason": "ContainerCreating"}}
        c.proc = None

    def _tick(self, containers: list[Container]) -> float:
        """Advance every container once; returns seconds until something is due."""
        now = time.monotonic()
        due = 1.0
        for c in containers:
            if c.done or c.plan is None:
                continue
            if c.proc is None:
                if now >= c.restart_at:
                    self._start(c)
                else:
                    due = min(due, c.restart_at - now)
                continue
            c.proc.tick_stop()
            code = c.proc.poll()
            if code is not None:
                reason = "Completed" if code == 0 else "Error"
                if c.stop_reason == "liveness":
                    reason = "Error"
                self._record_exit(c, code, reason, "", c.proc.started_at, c.proc.finished_at)
                continue
            if c.proc.kill_deadline is None:
                due = min(due, self._probe(c))
        return max(due, 0.05)

    def _probe(self, c: Container) -> float:
        """Run the container's due probes; returns seconds until the next one."""
        if c.ctx is None or c.proc is None:
            return 1.0
        now = time.monotonic()
        due = 1.0
        order = [c.startup] if not c.started else [c.liveness, c.readiness]
        for probe in order:
            if probe is None:
                continue
            if now < probe.next_due:
                due = min(due, probe.next_due - now)
                continue
            ok, message = run_handler(probe.spec, c.ctx, probe.timeout)
            probe.next_due = time.monotonic() + probe.period
            due = min(due, probe.period)
            threshold_ok = int(probe.spec.get("successThreshold", 1))
            threshold_fail = int(probe.spec.get("failureThreshold", 3))
            kind = (
                "Startup"
                if probe is c.startup
                else ("Liveness" if probe is c.liveness else "Readiness")
            )
            if ok:
                probe.failures = 0
                probe.successes += 1
                if probe.successes >= threshold_ok:
                    probe.result = True
            else:
                probe.successes = 0
                probe.failures += 1
                self.runner.event(
                    self.pod, "Warning", "Unhealthy", f"{kind} probe failed: {message}"
                )
                if probe.failures >= threshold_fail:
                    probe.result = False
            if probe is c.startup and probe.result:
                c.started = True
                for p in (c.liveness, c.readiness):
                    if p is not None:
                        p.reset(time.monotonic())
            elif probe.result is False and probe is not c.readiness:
                grace = probe.spec.get("terminationGracePeriodSeconds", self._grace())
                self.runner.event(
                    self.pod,
                    "Normal",
                    "Killing",
                    f"Container {c.name} failed {kind.lower()} probe, will be restarted",
                )
                c.stop_reason = "liveness"
                c.ready = False
                c.proc.begin_stop(float(grace))
                return 0.1
        if c.started:
            c.ready = c.readiness.result is True if c.readiness is not None else True
        return due

    def _run_init_containers(self) -> bool:
        for c in self.init_containers:
            c.restart_at = time.monotonic()
            while not c.done:
                if self.deleting:
                    self._terminate()
                    return False
                wait = self._tick([c])
                self._push_status()
                if c.done and c.state.get("terminated", {}).get("exitCode") != 0:
                    self.failed_init = True
                    self._push_status()
                    while not self.deleting:
                        self._sleep(60)
                    self._terminate()
                    return False
                if c.plan is None:  # image not runnable: the pod cannot start
                    self._sleep(60)
                    continue
                self._sleep(min(wait, 0.5))
        self.initialized = True
        return True

    # -- stopping -----------------------------------------------------------------------------

    def _stop_all(self, grace: float) -> None:
        running = [c for c in self.init_containers + self.containers if c.proc is not None]
        if grace > 0:
            deadline = time.monotonic() + grace
            for c in running:
                pre_stop = c.spec.get("lifecycle", {}).get("preStop")
                if pre_stop and c.ctx is not None:
                    ok, message = run_handler(
                        pre_stop, c.ctx, max(0.0, deadline - time.monotonic())
                    )
                    if not ok:
                        log.info("pod %s: preStop of %s failed: %s", self.pod_name, c.name, message)
            grace = max(0.0, deadline - time.monotonic())
        for c in running:
            assert c.proc is not None
            if c.proc.kill_deadline is None:
                c.proc.begin_stop(grace)
            else:
                c.proc.kill_deadline = min(c.proc.kill_deadline, time.monotonic() + grace)
        while True:
            alive = [c for c in running if c.proc is not None and c.proc.poll() is None]
            if not alive:
                break
            for c in alive:
                assert c.proc is not None
                c.proc.tick_stop()
            time.sleep(0.05)
        for c in running:
            assert c.proc is not None
            code = c.proc.poll()
            c.state = {
                "terminated": {
                    "exitCode": code if code is not None else 137,
                    "reason": "Completed" if code == 0 else "Error",
                    "startedAt": c.proc.started_at,
                    "finishedAt": c.proc.finished_at or now_rfc3339(),
                    "containerID": c.container_id(),
                }
            }
            c.ready = False
            c.done = True

    def _terminate(self) -> None:
        grace = self._delete_grace or 0.0
        self.runner.event(self.pod, "Normal", "Killing", "Stopping pod containers")
        self._stop_all(grace)
        if self._object_gone or self._shutdown:
            return
        self._push_status()
        try:
            self.rest.delete(
                f"/api/v1/namespaces/{self.namespace}/pods/{self.pod_name}",
                {
                    "apiVersion": "v1",
                    "kind": "DeleteOptions",
                    "gracePeriodSeconds": 0,
                    "preconditions": {"uid": self.uid},
                },
            )
        except KubeApiError as exc:
            if exc.status not in (404, 409):
                log.warning("pod %s/%s: not removed: %s", self.namespace, self.pod_name, exc)
        except httpx.HTTPError as exc:
            log.warning("pod %s/%s: not removed: %s", self.namespace, self.pod_name, exc)

    def _teardown(self) -> None:
        self.runner.publish_dns(self.uid, None)
        if self.net is not None:
            try:
                self.runner.network.delete(self.net)
            except Exception:
                log.exception(
                    "pod %s/%s: removing its network failed", self.namespace, self.pod_name
                )
        if self.volumes is not None:
            self.volumes.cleanup()

    def refresh_hosts(self) -> None:
        if self.net is None:
            return
        resolv = (
            f"search {self.namespace}.svc.cluster.local svc.cluster.local cluster.local\n"
            "options ndots:5\n"
        )
        self.runner.network.write_etc(self.net, self.runner.hosts_file_for(self.uid), resolv)

    # -- status -------------------------------------------------------------------------------

    def _ip_status(self) -> JsonDict:
        status: JsonDict = {
            "hostIP": self.runner.host_ip,
            "hostIPs": [{"ip": self.runner.host_ip}],
        }
        if self.net is not None:
            status["podIP"] = self.net.ip
            status["podIPs"] = [{"ip": self.net.ip}]
        return status

    def _terminal_phase(self) -> bool:
        return self._phase() in ("Succeeded", "Failed")

    def _phase(self) -> str:
        if self.failed_init:
            return "Failed"
        if not self.initialized:
            return "Pending"
        if all(c.done for c in self.containers):
            codes = [c.state.get("terminated", {}).get("exitCode", 1) for c in self.containers]
            return "Succeeded" if all(code == 0 for code in codes) else "Failed"
        if any(c.proc is None and c.restart_count == 0 and not c.done for c in self.containers):
            return "Pending"  # a container never started yet
        return "Running"

    def _condition(self, kind: str, ok: bool, reason: str = "") -> JsonDict:
        status = "True" if ok else "False"
        previous = self.transitions.get(kind)
        if previous is None or previous[0] != status:
            self.transitions[kind] = (status, now_rfc3339())
        condition: JsonDict = {
            "type": kind,
            "status": status,
            "lastProbeTime": None,
            "lastTransitionTime": self.transitions[kind][1],
        }
        if reason and not ok:
            condition["reason"] = reason
        return condition

    def _container_status(self, c: Container) -> JsonDict:
        status: JsonDict = {
            "name": c.name,
            "image": c.spec.get("image", ""),
            "imageID": c.plan.image_id if c.plan else "",
            "ready": c.ready,
            "started": c.proc is not None and c.started,
            "restartCount": c.restart_count,
            "state": c.state,
            "lastState": c.last_state,
        }
        if c.proc is not None:
            status["containerID"] = c.container_id()
        elif "terminated" in c.state and c.state["terminated"].get("containerID"):
            status["containerID"] = c.state["terminated"]["containerID"]
        return status

    def _push_status(self) -> None:
        if self._object_gone or self._shutdown:
            return
        phase = self._phase()
        containers_ready = bool(self.containers) and all(c.ready for c in self.containers)
        with self._lock:
            existing = self.pod.get("status", {}).get("conditions", [])
            gates = [g["conditionType"] for g in self.pod["spec"].get("readinessGates", [])]
        others = [c for c in existing if c.get("type") not in OUR_CONDITIONS]
        gates_ok = all(
            any(c.get("type") == g and c.get("status") == "True" for c in existing) for g in gates
        )
        conditions = [
            self._condition("PodReadyToStartContainers", self.net is not None),
            self._condition("Initialized", self.initialized, "ContainersNotInitialized"),
            self._condition("ContainersReady", containers_ready, "ContainersNotReady"),
            self._condition("Ready", containers_ready and gates_ok, "ContainersNotReady"),
            self._condition("PodScheduled", True),
        ]
        status: JsonDict = {
            "phase": phase,
            "conditions": others + conditions,
            "startTime": self.start_time,
            "containerStatuses": [self._container_status(c) for c in self.containers],
            **self._ip_status(),
        }
        if self.init_containers:
            status["initContainerStatuses"] = [
                self._container_status(c) for c in self.init_containers
            ]
        if status == self.last_sent:
            return
        try:
            # The uid in the patch is a precondition: a pod re-created with the same name (a
            # StatefulSet replacing its pod) has another uid, and the patch fails instead of
            # writing this pod's status onto the new one.
            self.rest.patch(
                f"/api/v1/namespaces/{self.namespace}/pods/{self.pod_name}/status",
                {"metadata": {"uid": self.uid}, "status": status},
                MERGE_PATCH,
            )
        except KubeApiError as exc:
            if exc.status not in (404, 409, 422):  # else: gone or replaced, the informer says
                log.warning("pod %s/%s: status not written: %s", self.namespace, self.pod_name, exc)
            return
        except httpx.HTTPError as exc:
            # The apiserver being briefly unreachable must not kill the pod: the next tick
            # writes the status again (last_sent is unchanged).
            log.warning("pod %s/%s: status not written: %s", self.namespace, self.pod_name, exc)
            return
        self.last_sent = status
