"""API throughput beside a plain echo endpoint of the same app, measured in one run.

One API process (uvicorn, one worker) pinned to core 0, wrk on core 1, PostgreSQL unpinned (see
bench/apistack.py). Prints requests/s of: the no-DB echo endpoint, GET one topic, list 50
topics, create a topic with an idempotency key (each request a new topic), PATCH a topic's
configs with its etag and DELETE a topic with its etag (each request a topic of its own, seeded
beforehand) — and each one's ratio to echo.

The endpoints take turns: `--rounds` rounds, each running every endpoint for its share of
`--seconds`, so that a change in the machine's load (it is shared) falls on all of them alike
rather than on whichever ran at that moment. Figures are totals over the rounds.

    .venv/bin/python -m bench.api [--seconds 10] [--rounds 5] [--connections 32]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from bench.apistack import api_stack, cpu_seconds, etags, require_wrk, seed_topics, wrk

GOALS = {
    "get one topic": 0.50,
    "list 50 topics": 0.13,
    "create topic (idempotent)": 0.20,
    "patch topic (etag)": 0.20,
    "delete topic (etag)": 0.20,
}
# Seeded topics per round for PATCH and DELETE: each request uses one, once.
_PER_ROUND = 6000

CREATE_LUA = """
local n = 0
request = function()
  n = n + 1
  local name = "ROUND-" .. n
  return wrk.format("POST", "/v1/projects/bench/clusters/w/topics?topic_id=" .. name,
    {["Authorization"] = "Bearer TOKEN", ["Content-Type"] = "application/json",
     ["Idempotency-Key"] = name}, "{}")
end
"""

# One topic per request, each with the etag it was seeded with; past the end, requests repeat
# the last topic and count as non-2xx (the seeding was too small for the machine's speed).
EACH_LUA = """
local topics = TOPICS
local n = 0
request = function()
  n = math.min(n + 1, #topics)
  local t = topics[n]
  return wrk.format("METHOD", "/v1/projects/bench/clusters/CLUSTER/topics/" .. t[1] ..
    "?etag=" .. t[2], {["Authorization"] = "Bearer TOKEN",
    ["Content-Type"] = "application/json"}, BODY)
end
"""


def each_script(
    path: Path, method: str, cluster: str, token: str, topics: list[tuple[str, str]], body: str
) -> Path:
    table = "{" + ",".join(f'{{"{n}","{e}"}}' for n, e in topics) + "}"
    lua = EACH_LUA.replace("TOPICS", table).replace("METHOD", method).replace("TOKEN", token)
    path.write_text(lua.replace("CLUSTER", cluster).replace("BODY", json.dumps(body)))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="per endpoint, all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    require_wrk()
    with api_stack() as stack:
        base, token, workdir = stack.base, stack.token, stack.workdir
        with stack.client() as c:
            # GET and list read cluster `c` (50 topics); creates go to cluster `w`, so that the
            # list measures 50 of 50 in every round rather than the first 50 of a table that
            # grows by thousands of rows a second, faster than autovacuum refreshes the
            # planner's statistics. PATCH and DELETE each have a cluster of seeded topics.
            for cluster in ("c", "w", "u", "d"):
                c.post(
                    f"/v1/projects/bench/clusters?cluster_id={cluster}", json={}
                ).raise_for_status()
            seed_topics(c, "c", [f"t{i:03d}" for i in range(50)])
            seeded = [f"s{i:06d}" for i in range(_PER_ROUND * args.rounds)]
            seed_topics(c, "u", seeded)
            seed_topics(c, "d", seeded)
            patch_etags, delete_etags = etags(c, "u"), etags(c, "d")
        scripts: dict[str, list[Path]] = {"create": [], "patch": [], "delete": []}
        patch_body = '{"configs": {"retention.ms": "3600000"}}'
        for r in range(args.rounds):
            names = seeded[r * _PER_ROUND : (r + 1) * _PER_ROUND]
            path = workdir / f"create-{r}.lua"
            path.write_text(CREATE_LUA.replace("TOKEN", token).replace("ROUND", f"b{r}"))
            scripts["create"].append(path)
            scripts["patch"].append(
                each_script(
                    workdir / f"patch-{r}.lua",
                    "PATCH",
                    "u",
                    token,
                    [(n, patch_etags[n]) for n in names],
                    patch_body,
                )
            )
            scripts["delete"].append(
                each_script(
                    workdir / f"delete-{r}.lua",
                    "DELETE",
                    "d",
                    token,
                    [(n, delete_etags[n]) for n in names],
                    "",
                )
            )
        topics = f"{base}/v1/projects/bench/clusters/c/topics"
        cases: list[tuple[str, str, str | None, list[Path]]] = [
            ("echo (no DB, no auth)", f"{base}/echo", None, []),
            ("get one topic", f"{topics}/t000", token, []),
            ("list 50 topics", f"{topics}?page_size=50", token, []),
            ("create topic (idempotent)", f"{base}/", None, scripts["create"]),
            ("patch topic (etag)", f"{base}/", None, scripts["patch"]),
            ("delete topic (etag)", f"{base}/", None, scripts["delete"]),
        ]
        wrk(f"{base}/echo", 2, args.connections, None)  # warm-up
        totals = {name: [0.0, 0, 0, 0.0] for name, *_ in cases}  # cpu s, requests, bad, s
        share = max(1, round(args.seconds / args.rounds))
        for r in range(args.rounds):
            for name, url, tok, lua in cases:
                script = lua[r] if lua else None  # a script per round: new topics each time
                before = cpu_seconds(stack.api_pid)
                run = wrk(url, share, args.connections, tok, script)
                cpu = cpu_seconds(stack.api_pid) - before
                t = totals[name]
                t[0], t[1], t[2], t[3] = (
                    t[0] + cpu,
                    t[1] + run.total,
                    t[2] + run.non_2xx,
                    t[3] + run.seconds,
                )
        results = [
            (name, t[1] / t[3], t[0] / max(t[1], 1) * 1e6, int(t[2])) for name, t in totals.items()
        ]
        echo, echo_cpu = results[0][1], results[0][2]
        # Two views of the same ratio: throughput (what the goal names; needs a quiet machine)
        # and the API process's CPU per request (robust when other work shares the cores).
        print(
            f"\n{'endpoint':28} {'req/s':>8} {'x echo':>7} {'cpu us/req':>10} {'x echo':>7}"
            f" {'goal':>5}  non-2xx"
        )
        for name, rps, cpu_us, bad in results:
            goal = GOALS.get(name)
            goal_text = f"{goal:.2f}" if goal else "-"
            print(
                f"{name:28} {rps:8.0f} {rps / echo:7.2f} {cpu_us:10.0f} "
                f"{echo_cpu / cpu_us:7.2f} {goal_text:>5}  {bad}"
            )
        print(f"\nload average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
