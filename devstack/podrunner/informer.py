"""List-and-watch of one collection, as client-go's informers do it.

The runner needs to react to pods, claims and volumes within milliseconds, and to never miss
one: an informer lists, then watches from the list's resourceVersion; when the watch ends it
resumes from the last version seen, and when that version is too old (410 Gone) it lists again
and reports objects that disappeared meanwhile as DELETED.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from devstack.kube.rest import KubeApiError, KubeRest

JsonDict = dict[str, Any]
Handler = Callable[[str, JsonDict], None]
log = logging.getLogger("devstack.podrunner.informer")


class Informer(threading.Thread):
    def __init__(self, rest: KubeRest, path: str, handler: Handler, stop: threading.Event) -> None:
        super().__init__(name=f"informer {path}", daemon=True)
        self.rest = rest
        self.path = path
        self.handler = handler
        self.stop_event = stop
        self.cache: dict[str, JsonDict] = {}
        self.synced = threading.Event()

    def _deliver(self, kind: str, obj: JsonDict) -> None:
        try:
            self.handler(kind, obj)
        except Exception:
            name = obj.get("metadata", {}).get("name")
            log.exception("handling %s %s %s failed", kind, self.path, name)

    def _relist(self) -> str:
        listed = self.rest.get(self.path)
        fresh = {o["metadata"]["uid"]: o for o in listed.get("items", [])}
        for uid, obj in list(self.cache.items()):
            if uid not in fresh:
                self._deliver("DELETED", obj)
        for uid, obj in fresh.items():
            self._deliver("MODIFIED" if uid in self.cache else "ADDED", obj)
        self.cache = fresh
        self.synced.set()
        return str(listed["metadata"]["resourceVersion"])

    def run(self) -> None:
        version = ""
        while not self.stop_event.is_set():
            try:
                if not version:
                    version = self._relist()
                for event in self.rest.watch(self.path, version):
                    obj = event.object
                    version = obj.get("metadata", {}).get("resourceVersion", version)
                    if event.type == "BOOKMARK":
                        continue
                    uid = obj["metadata"]["uid"]
                    if event.type == "DELETED":
                        self.cache.pop(uid, None)
                    else:
                        self.cache[uid] = obj
                    self._deliver(event.type, obj)
            except KubeApiError as exc:
                if exc.status == 410:
                    version = ""  # too old: list again
                    continue
                log.warning("watch %s: %s", self.path, exc)
                version = ""
                self.stop_event.wait(1.0)
            except Exception as exc:
                if self.stop_event.is_set():
                    return
                log.warning("watch %s failed (%s); listing again", self.path, exc)
                version = ""
                self.stop_event.wait(1.0)
