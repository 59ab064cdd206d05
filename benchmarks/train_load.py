"""Training next to learners: a worked-example edit's latency while 0, 1 and 4 other sessions train.

    python benchmarks/train_load.py [--edits 40] [--trainers 0 1 4] [--out benchmarks/results/train_load.json]

Starts its own Streamlit server (stopped by its own handle at the end) and drives it with the project's protocol
client (``benchmarks/ws_client.py``, as ``benchmarks/load.py`` does). For each trainer count: that many sessions
open the Train page, set 5000 steps and press Train, then keep their live panel refreshing as a browser tab does (a
fragment rerun every 0.5 s); once they train, one more session edits a random cell of X on the worked example
``--edits`` times (0.3 s apart) and the time from the edit to the server's ``script_finished`` is recorded. The
trainers then press Stop. The server trains at most 2 models at once (the rest wait in its queue), each in its own
process with one torch thread. Prints a markdown table (median and p90 edit latency, ratio to nobody training) and
writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from benchmarks.load import ProtocolSession, ProtocolStats, Target, page_targets, percentile
from benchmarks.ws_client import ProtocolClient, ProtocolError, _widget_id
from tests.support.server import REPO_ROOT, StreamlitServer

REFRESH_S = 0.5
TRAIN_STEPS = 5000


class Trainer:
    """A tab on the Train page that starts a long training and keeps watching it."""

    def __init__(self, base_url: str):
        self.client = ProtocolClient(base_url, timeout=90)
        self.fragment = ""
        self.refreshes = 0
        self.errors: list[str] = []
        self.state = ""

    async def _set(self, key: str, **value: Any) -> None:
        """Give the widget with user key ``key`` a state (a value, or a button's trigger) and rerun."""
        ids = [_widget_id(d.element) for d in self.client.page.values()]
        widget_id = next((i for i in ids if i and i.endswith(f"-{key}")), None)
        if widget_id is None:
            raise ProtocolError("no_widget", f"no widget {key} on the Train page")
        self.client.widget_states[widget_id] = WidgetState(id=widget_id, **value)
        result = await self.client.rerun()
        if value.get("trigger_value"):
            self.client.widget_states.pop(widget_id, None)
        if result.exceptions or result.error_alerts:
            self.errors += result.exceptions + result.error_alerts

    async def start(self) -> None:
        await self.client.open("Train")
        await self._set("train_steps", int_value=TRAIN_STEPS)
        await self._set("train_act_start", trigger_value=True)
        self.fragment = next((d.fragment for d in self.client.page.values() if d.fragment), "")
        if not self.fragment:
            raise ProtocolError("no_fragment", "the Train page shows no live panel after Train")

    async def refresh(self) -> None:
        """What the browser sends every run_every seconds: an automatic rerun of the live panel's fragment."""
        msg = BackMsg()
        msg.rerun_script.widget_states.CopyFrom(self.client._widget_states())
        msg.rerun_script.page_script_hash = self.client.page_script_hash
        msg.rerun_script.fragment_id = self.fragment
        msg.rerun_script.is_auto_rerun = True
        self.client._context(msg.rerun_script)
        result = await self.client._run(msg)
        self.refreshes += 1
        if result.exceptions:
            self.errors += result.exceptions

    async def watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                await self.refresh()
            except ProtocolError as err:
                self.errors.append(f"{err.kind}: {err.detail}")
                return
            await asyncio.sleep(max(0.0, REFRESH_S - (time.monotonic() - started)))

    async def stop(self) -> None:
        try:
            await self._set("train_act_stop", trigger_value=True)
        except ProtocolError as err:
            self.errors.append(f"stop: {err.kind}: {err.detail}")
        await self.client.close()


async def measure(base_url: str, worked: Target, trainers: int, edits: int) -> dict[str, Any]:
    tabs = [Trainer(base_url) for _ in range(trainers)]
    for tab in tabs:
        await tab.start()
    stop = asyncio.Event()
    watchers = [asyncio.create_task(tab.watch(stop)) for tab in tabs]
    if tabs:
        await asyncio.sleep(8.0)  # the workers start (forkserver) and reach steady training
    stats = ProtocolStats()
    editor = ProtocolSession(0, base_url, worked, stats)
    await editor.open()
    latencies = []
    for _ in range(edits):
        result = await editor.edit()
        if result.elapsed_ms is not None and result.ok:
            latencies.append(result.elapsed_ms)
        await asyncio.sleep(0.3)
    await editor.close()
    stop.set()
    await asyncio.gather(*watchers)
    for tab in tabs:
        await tab.stop()
    await asyncio.sleep(3.0 if tabs else 0.0)  # the stopped workers exit
    return {
        "trainers": trainers,
        "edits": len(latencies),
        "median_ms": statistics.median(latencies) if latencies else None,
        "p90_ms": percentile(latencies, 90),
        "latencies_ms": latencies,
        "trainer_refreshes": [t.refreshes for t in tabs],
        "errors": [e for t in tabs for e in t.errors] + [f"{k}: {v}" for k, v in stats.errors.items()],
    }


async def run(trainer_counts: list[int], edits: int) -> list[dict[str, Any]]:
    worked = next(t for t in page_targets() if t.path == "Worked_example")
    server = StreamlitServer("app.py").start()
    try:
        server.wait_healthy(timeout=120)
        warm = ProtocolSession(99, server.url, worked, ProtocolStats())  # first visit: imports, caches
        await warm.open()
        await warm.close()
        results = []
        for count in trainer_counts:
            results.append(await measure(server.url, worked, count, edits))
            r = results[-1]
            print(f"{count} training: median {r['median_ms']:.0f} ms over {r['edits']} edits", file=sys.stderr)
        return results
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=40)
    parser.add_argument("--trainers", type=int, nargs="+", default=[0, 1, 4])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "train_load.json")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.trainers, args.edits))
    base = next((r["median_ms"] for r in results if r["trainers"] == 0), None)
    lines = [
        "| sessions training | edits | median edit → rerun finished | p90 | ratio to nobody training |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        ratio = f"{r['median_ms'] / base:.2f}×" if base and r["median_ms"] else "—"
        lines.append(f"| {r['trainers']} | {r['edits']} | {r['median_ms']:.0f} ms | {r['p90_ms']:.0f} ms | {ratio} |")
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"results": results, "table": table}, indent=2))
    return 0 if all(not r["errors"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
