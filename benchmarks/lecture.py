"""A lecture hall at once: the load test against 1 replica direct, 1 behind nginx and 2 behind nginx, a replica
killed mid-test, and a paper estimate for a class; prints a markdown table and writes JSON.

    python -m benchmarks.lecture [--sessions 30 60 120] [--seconds 60] [--ramp-s 20] [--fault-sessions 30]
                                 [--students 300] [--out benchmarks/results/lecture.json]
    python -m benchmarks.lecture --smoke      # 4 sessions, 8 s per cell: does everything run?

Every cell is ``benchmarks/load.py``'s protocol client (sessions edit the worked example and switch pages with no
pause) for ``--seconds``, sessions arriving evenly over ``--ramp-s``; the replicas are stock ``streamlit run app.py``
processes and nginx runs ``deploy/nginx.conf`` (``deploy/local.py``). Per cell: p50/p95 of edit → rerun finished,
errors, sessions live, each replica's peak RSS and the server CPU per script run.

The fault test runs ``--fault-sessions`` sessions on 2 replicas behind nginx and kills replica 0 (SIGKILL) once
every session is live. Its sessions lose their websocket and reconnect through nginx with their affinity cookie,
which still names the dead replica: nginx finds it refusing and passes them on. Reported: how many of its sessions
reconnected to the live replica and how long after the kill (to the first finished run there), and where new
sessions opened after the kill went (nginx's ``X-Upstream``: the replica that served them, and every one it tried).

The replicas run with ``OMP_NUM_THREADS=1`` (one torch thread each, as in the container image). The load client runs
on the same 2 cores as the servers and nginx: every figure includes that contention.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:
    # Started as a file (`python benchmarks/lecture.py`): run as the module instead, exactly as
    # `python -m benchmarks.lecture` from the repository root would, so `benchmarks` and `tests.support` import alike.
    import runpy

    sys.path[0] = str(Path(__file__).resolve().parents[1])
    runpy.run_module("benchmarks.lecture", run_name="__main__", alter_sys=True)
    sys.exit()

from benchmarks.load import (
    LOAD_TIMEOUT_MS,
    WORKED,
    ProtocolSession,
    ProtocolStats,
    fmt,
    log,
    page_targets,
    percentile,
    run_load_protocol,
)
from benchmarks.ws_client import ProtocolError
from deploy.local import LocalDeployment
from tests.support.server import REPO_ROOT

SETUPS = (("1 replica, direct", 0), ("1 replica, nginx", 1), ("2 replicas, nginx", 2))


def cell(setup: str, result: dict[str, Any]) -> dict[str, Any]:
    """The table's figures of one load run (the full result stays beside it in the JSON)."""
    latency = result["edit_to_rerun_finished_ms"]
    return {
        "setup": setup,
        "sessions": result["sessions"],
        "sessions_live": result["sessions_started"],
        "all_live_after_s": result["all_sessions_live_after_s"],
        "duration_s": result["duration_s"],
        "edits": result["edits"],
        "page_switches": result["page_switches"],
        "errors": result["errors"],
        "errors_by_kind": result["errors_by_kind"],
        "edit_p50_ms": latency["p50"],
        "edit_p95_ms": latency["p95"],
        "server_cpu_s": result["server_cpu_s_during_load"],
        "server_cpu_ms_per_run": result["server_cpu_ms_per_run"],
        "client_cpu_s": result["client_cpu_s_during_load"],
        "replicas": {
            name: {
                "sessions_opened": r["sessions_opened"],
                "edits": r["edits"],
                "rss_start_mb": r["rss_mb"].get("start"),
                "rss_peak_mb": r["rss_mb"].get("peak"),
                "cpu_s": r["cpu_s"],
            }
            for name, r in result["per_replica"].items()
        },
    }


async def run_matrix(sessions: list[int], seconds: float, ramp_s: float) -> list[dict[str, Any]]:
    rows = []
    for count in sessions:
        for setup, replicas in SETUPS:
            log(f"matrix: {count} sessions, {setup}")
            result = await run_load_protocol(count, seconds, replicas=replicas, ramp_s=ramp_s)
            rows.append(
                {**cell(setup, result), "full": {k: v for k, v in result.items() if k not in ("opens", "per_session")}}
            )
    return rows


async def _open_new_session(url: str, index: int) -> dict[str, Any]:
    """One new browser tab (no cookies) on the worked example: where nginx sent it."""
    worked = next(t for t in page_targets() if t.script == WORKED)
    session = ProtocolSession(index, url, worked, ProtocolStats())
    started = time.monotonic()
    try:
        await asyncio.wait_for(session.open(), LOAD_TIMEOUT_MS / 1000)
    except (ProtocolError, TimeoutError) as err:
        return {"ok": False, "error": str(err)[:200], "upstream": None, "tried": []}
    finally:
        await session.close()
    record = session.stats.opens[-1]  # where its websocket went, and every replica nginx tried on the way
    return {
        "ok": True,
        "upstream": record.upstream,
        "tried": list(record.tried),
        "open_s": round(time.monotonic() - started, 2),
    }


async def run_fault(sessions: int, seconds: float, ramp_s: float, new_sessions: int = 6) -> dict[str, Any]:
    """2 replicas behind nginx, ``sessions`` sessions; replica 0 killed once all are live (after the ramp + 5 s)."""
    kill_at = ramp_s + 5.0
    if kill_at >= seconds - 5:
        raise ValueError(f"seconds={seconds} leaves no time after the kill at {kill_at:.0f} s (ramp_s={ramp_s})")

    async def kill_then_open(deployment: LocalDeployment, t0: float) -> dict[str, Any]:
        await asyncio.sleep(max(0.0, t0 + kill_at - time.monotonic()))
        killed_at = time.monotonic()
        dead = deployment.kill_replica(0)
        log(f"fault: killed replica 0 ({dead}) at {killed_at - t0:.1f} s")
        opened = []
        for i in range(new_sessions):  # new tabs after the kill, one after another
            opened.append(
                {
                    "after_kill_s": round(time.monotonic() - killed_at, 2),
                    **await _open_new_session(deployment.url, 1000 + i),
                }
            )
            await asyncio.sleep(0.5)
        return {"dead": dead, "killed_at_s": round(killed_at - t0, 2), "new_sessions": opened}

    deployment = LocalDeployment(2).start()
    try:
        result = await run_load_protocol(sessions, seconds, ramp_s=ramp_s, deployment=deployment, during=kill_then_open)
    finally:
        deployment.stop()
    return {**fault_summary(result), "full": {k: v for k, v in result.items() if k != "per_session"}}


def fault_summary(result: dict[str, Any]) -> dict[str, Any]:
    """What the kill did: the dead replica's sessions, their reconnections, where new sessions went."""
    during = result["during"]
    dead, killed_at = during["dead"], during["killed_at_s"]
    on_dead = {s["session"] for s in result["per_session"] if s["upstreams"] and s["upstreams"][0] == dead}
    first_back: dict[int, dict[str, Any]] = {}
    for record in result["opens"]:
        if record["reconnect"] and record["session"] in on_dead and record["at_s"] >= killed_at:
            first_back.setdefault(record["session"], record)
    delays = [r["at_s"] - killed_at for r in first_back.values()]
    new = during["new_sessions"]
    return {
        "dead_replica": dead,
        "killed_at_s": killed_at,
        "sessions": result["sessions"],
        "sessions_on_dead_replica": len(on_dead),
        "reconnected": len(first_back),
        "reconnected_to_live_replica": sum(r["upstream"] != dead for r in first_back.values()),
        "reconnect_s": {
            "p50": percentile(delays, 50),
            "p95": percentile(delays, 95),
            "max": max(delays, default=None),
        },
        "reconnect_tried_dead_first": sum(dead in r["tried"] for r in first_back.values()),
        "new_sessions_after_kill": len(new),
        "new_sessions_ok": sum(n["ok"] for n in new),
        "new_sessions_on_dead_replica": sum(n["upstream"] == dead for n in new),
        "new_sessions_that_tried_dead_first": sum(dead in n["tried"] for n in new),
        "errors_by_kind": result["errors_by_kind"],
        "edits": result["edits"],
    }


def estimate(
    rows: list[dict[str, Any]], students: int, action_every_s: list[float], utilisation: float, burst_s: float
) -> dict[str, Any]:
    """A paper estimate for ``students`` at once from the measured server CPU per script run (the direct runs).

    Assumptions: each student causes one script run every ``action_every_s`` seconds on average (an edit, a page
    visit); runs cost what they cost here (same CPU class, the load test's mix of edits and page visits); one replica
    uses one core; a replica kept at ``utilisation`` of its core keeps queues short; when every student acts in the
    same second, the last run should finish within ``burst_s``. Memory: a warm replica's RSS plus the measured growth
    per live session (from the largest direct run).
    """
    direct = [r for r in rows if r["setup"] == SETUPS[0][0] and r["server_cpu_ms_per_run"]]
    if not direct:
        return {}
    cpu_ms = percentile([r["server_cpu_ms_per_run"] for r in direct], 50)
    biggest = max(direct, key=lambda r: r["sessions"])
    replica = next(iter(biggest["replicas"].values()))
    base_mb = replica["rss_start_mb"] or 0.0
    live = max(1, biggest["sessions_live"])
    per_session_mb = max(0.0, ((replica["rss_peak_mb"] or base_mb) - base_mb) / live)
    cpu_s = cpu_ms / 1000

    def memory_gb(replicas: int) -> float:
        return round((replicas * base_mb + students * per_session_mb) / 1024, 1)

    steady = []
    for every in action_every_s:
        busy = students * cpu_s / every
        replicas = max(1, math.ceil(busy / utilisation))
        steady.append({"action_every_s": every, "cores_busy": round(busy, 2), "replicas": replicas})
    burst_replicas = max(1, math.ceil(students * cpu_s / burst_s))
    return {
        "students": students,
        "measured_cpu_ms_per_run": cpu_ms,
        "measured_replica_rss_mb": round(base_mb),
        "measured_mb_per_session": round(per_session_mb, 2),
        "from_sessions": live,
        "assumed_utilisation": utilisation,
        "steady": [{**row, "memory_gb": memory_gb(row["replicas"])} for row in steady],
        "burst_s": burst_s,
        "burst_replicas": burst_replicas,
        "burst_memory_gb": memory_gb(burst_replicas),
    }


def markdown(rows: list[dict[str, Any]], fault: dict[str, Any] | None, paper: dict[str, Any]) -> str:
    lines = [
        "| sessions | setup | live | edits | errors | p50 edit (ms) | p95 edit (ms) | server CPU per run (ms) "
        "| RSS peak per replica (MB) | sessions per replica |",
        "|" + "---|" * 10,
    ]
    for r in rows:
        replicas = r["replicas"].values()
        lines.append(
            f"| {r['sessions']} | {r['setup']} | {r['sessions_live']} | {r['edits']} | {r['errors']} "
            f"| {fmt(r['edit_p50_ms'])} | {fmt(r['edit_p95_ms'])} | {fmt(r['server_cpu_ms_per_run'], 1)} "
            f"| {' / '.join(fmt(x['rss_peak_mb']) for x in replicas)} "
            f"| {' / '.join(str(x['sessions_opened']) for x in replicas)} |"
        )
    if fault:
        delay = fault["reconnect_s"]
        lines += [
            "",
            f"Fault: {fault['sessions']} sessions on 2 replicas behind nginx, replica {fault['dead_replica']} killed "
            f"at {fault['killed_at_s']:.0f} s: {fault['reconnected_to_live_replica']} of its "
            f"{fault['sessions_on_dead_replica']} sessions reconnected to the live replica "
            f"(p50 {fmt(delay['p50'], 2)} s, max {fmt(delay['max'], 2)} s after the kill); new sessions after the "
            f"kill: {fault['new_sessions_on_dead_replica']} of {fault['new_sessions_after_kill']} on the dead "
            f"replica ({fault['new_sessions_that_tried_dead_first']} had nginx try it first), "
            f"{fault['new_sessions_ok']} opened; errors {fault['errors_by_kind']}",
        ]
    if paper:
        steady = "; ".join(
            f"one run per student every {row['action_every_s']:.0f} s: {row['cores_busy']} cores busy → "
            f"{row['replicas']} replicas (~{row['memory_gb']} GB)"
            for row in paper["steady"]
        )
        lines += [
            "",
            f"Paper estimate for {paper['students']} students at {paper['measured_cpu_ms_per_run']:.0f} ms of server "
            f"CPU per run, one core per replica, {paper['assumed_utilisation']:.0%} utilisation: {steady}. Everyone "
            f"acting in the same second and done within {paper['burst_s']:.0f} s: {paper['burst_replicas']} replicas "
            f"(~{paper['burst_memory_gb']} GB; {paper['measured_replica_rss_mb']} MB a warm replica + "
            f"{paper['measured_mb_per_session']} MB a session, measured at {paper['from_sessions']} sessions).",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[30, 60, 120])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--ramp-s", type=float, default=20.0)
    parser.add_argument("--fault-sessions", type=int, default=30, help="0 skips the fault test")
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument(
        "--action-every-s",
        type=float,
        nargs="+",
        default=[2.0, 5.0, 10.0],
        help="paper estimate: one run per student per …",
    )
    parser.add_argument(
        "--burst-s", type=float, default=2.0, help="paper estimate: all students act at once, done in …"
    )
    parser.add_argument("--utilisation", type=float, default=0.6, help="paper estimate: target CPU use per replica")
    parser.add_argument("--smoke", action="store_true", help="4 sessions, 8 s a cell, 20 s fault test")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.smoke:
        args.sessions, args.seconds, args.ramp_s, args.fault_sessions = [4], 8.0, 1.0, 4
    if min(args.sessions) < 1 or args.seconds <= 0 or args.ramp_s < 0 or args.fault_sessions < 0:
        parser.error("--sessions and --seconds must be positive, --ramp-s and --fault-sessions not negative")
    if not 0 < args.utilisation <= 1 or min(args.action_every_s) <= 0 or args.burst_s <= 0 or args.students < 1:
        parser.error("--utilisation in (0, 1], --action-every-s and --students positive")
    out = args.out or REPO_ROOT / "benchmarks" / "results" / ("lecture_smoke.json" if args.smoke else "lecture.json")

    # One torch thread per replica (each replica is meant to own one core; the replicas inherit the environment).
    os.environ["OMP_NUM_THREADS"] = "1"
    started = datetime.now(timezone.utc)
    rows = asyncio.run(run_matrix(args.sessions, args.seconds, args.ramp_s))
    fault = None
    if args.fault_sessions:
        fault_seconds = max(args.seconds, args.ramp_s + 25.0) if not args.smoke else 20.0
        log(f"fault test: {args.fault_sessions} sessions for {fault_seconds:.0f} s")
        fault = asyncio.run(run_fault(args.fault_sessions, fault_seconds, args.ramp_s))
    paper = estimate(rows, args.students, args.action_every_s, args.utilisation, args.burst_s)
    print(markdown(rows, fault, paper))
    report = {
        "started": started.isoformat(timespec="seconds"),
        "arguments": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_at_end": os.getloadavg()},
        "note": "the load client shares the machine's cores with the servers and nginx",
        "matrix": rows,
        "fault": fault,
        "estimate": paper,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")
    bad = [r for r in rows if r["errors"] or r["sessions_live"] < r["sessions"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
