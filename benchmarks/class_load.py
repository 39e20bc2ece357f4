"""A class on one server, measured: N simulated students on the real Streamlit server, each starting one training
at the same moment and watching it until its result arrives.

Each student is a websocket client that speaks the browser's protocol (Streamlit's BackMsg / ForwardMsg protobufs
on /_stcore/stream): it opens the Train page from a link that sets small settings, clicks Start training (the form's
submit trigger), then reruns the live panel's fragment whenever the page asks for it (its auto-rerun interval), as a
browser tab does, until the page announces its run's end. Each student has its own owner cookie, like a laptop.

Reported: runs finished / lost / duplicated, every student's result, time from the clicks to the last result, the
fragment rerun time (p50 / p95) of watching students while trainings hold both workers and the rest wait, and the
server's memory (RSS) before the students connect, at peak and after they have left.

    python benchmarks/class_load.py --students 30 [--data DIR] [--json report.json]

Bounded: at most 60 students, connected in batches, and a wall-clock limit (--timeout) for the whole run.
Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import server as app_server
from benchmarks.server import ROOT, free_port

MAX_STUDENTS = 60
RESULT = re.compile(r"(finished|stopped|failed|diverged)(: validation accuracy [0-9.]+%)?")
RUN_ID = re.compile(r"as run (\S+?)[.:](\s|$)")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (Linux /proc), in MiB."""
    total = 0
    for p in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used, all its threads together (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


@dataclass
class Student:
    index: int
    url: str
    query: str
    page_hash: str = ""
    start_button: str = ""
    fragment: str = ""
    interval: float = 1.0
    texts: list[str] = field(default_factory=list)
    run_id: str = ""
    refused: str = ""
    result: str = ""
    clicked: float = 0.0
    finished: float = 0.0
    reruns: list[tuple[float, float]] = field(default_factory=list)  # (started at, seconds) of each fragment rerun
    server_pid: int = 0  # the app server this student's browser talks to
    full_reruns: int = 0  # whole-page runs (the rest are the live panel's fragment alone)

    @property
    def token(self) -> str:
        return f"class-load-student-{self.index:03d}"

    async def connect(self, timeout: float) -> None:
        from websockets.asyncio.client import connect

        ws_url = self.url.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = await asyncio.wait_for(connect(
            ws_url, subprotocols=["streamlit"], origin=self.url, max_size=None, open_timeout=timeout,
            additional_headers={"Cookie": f"rnnviz_owner={self.token}"}), timeout)
        await self.rerun(timeout=timeout)

    async def rerun(self, widget_states=None, fragment: str = "", timeout: float = 120.0) -> float:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_name = "train"
        state.page_script_hash = self.page_hash  # '' at first: the server finds the page by its name
        state.context_info.url = f"{self.url}/train"
        if fragment:
            state.fragment_id = fragment
            state.is_auto_rerun = True
        for widget in widget_states or []:
            state.widget_states.widgets.append(widget)
        self.texts = []
        began = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        await asyncio.wait_for(self._until_finished(), timeout)
        return time.perf_counter() - began

    async def _until_finished(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        while True:
            message = ForwardMsg()
            message.ParseFromString(await self.ws.recv())
            kind = message.WhichOneof("type")
            if kind == "new_session":
                pages = {page.url_pathname: page.page_script_hash for page in message.new_session.app_pages}
                if len(pages) > 1:  # the very first run of a deep link lists its own page alone, under another hash
                    self.page_hash = pages.get("train", self.page_hash)
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                self._read(message.delta.new_element)
            elif kind == "auto_rerun":
                self.fragment, self.interval = message.auto_rerun.fragment_id, message.auto_rerun.interval
            elif kind == "stop_auto_rerun":
                self.fragment = ""
            elif kind == "script_finished" and message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                self.full_reruns += message.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY
                return

    def _read(self, element) -> None:
        kind = element.WhichOneof("type")
        if kind == "button" and element.button.label == "Start training" and element.button.is_form_submitter:
            self.start_button = element.button.id
        elif kind == "alert":
            self.texts.append(element.alert.body)
        elif kind == "markdown":
            self.texts.append(element.markdown.body)
        elif kind == "progress":
            self.texts.append(element.progress.text)

    async def start(self) -> None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        if not self.start_button:
            self.refused = "the page showed no Start training button"
            return
        self.clicked = time.time()
        await self.rerun([WidgetState(id=self.start_button, trigger_value=True)])
        for text in self.texts:
            if text.startswith(("Started", "Queued")) and (found := RUN_ID.search(text)):
                self.run_id = found.group(1)
            elif text.startswith("Not started"):
                self.refused = text

    def announced(self) -> str:
        """The end of this student's run, as the page announced it ('' while it has not)."""
        for text in self.texts:
            if self.run_id and self.run_id.rsplit("-", 1)[-1] in text and (found := RESULT.search(text)):
                return found.group(0)
        return ""

    async def watch(self, deadline: float) -> None:
        """Rerun the live panel as the browser would, until the page announces this student's result."""
        while not self.result and time.time() < deadline:
            await asyncio.sleep(self.interval if self.fragment else 3.0)
            began = time.time()
            seconds = await self.rerun(fragment=self.fragment, timeout=max(1.0, deadline - time.time()))
            if self.fragment:
                self.reruns.append((began, seconds))
            self.result = self.announced()
        self.finished = time.time()

    async def close(self) -> None:
        await self.ws.close()


def start_server(runs: Path, data: Path, port: int, log: Path, max_jobs: int) -> subprocess.Popen:
    env = dict(os.environ, RNNVIZ_RUNS=str(runs), RNNVIZ_DATA=str(data), RNNVIZ_MAX_JOBS=str(max_jobs))
    env.pop("RNNVIZ_TEACHER_KEY", None)
    process = app_server.launch(port, log, env)
    try:
        app_server.wait_until_healthy(process, port, log)
    except RuntimeError:
        process.kill()
        raise
    return process


async def drive(students: list[Student], batch: int, deadline: float, server_pids: list[int],
                memory: dict[str, float]) -> None:
    peak = {"mb": 0.0}
    loads: list[float] = []
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            peak["mb"] = max(peak["mb"], sum(rss_mb(pid) for pid in server_pids))
            loads.append(load_average())
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    try:
        for first in range(0, len(students), batch):  # the class opens the page a batch at a time
            await asyncio.gather(*(s.connect(timeout=max(5.0, deadline - time.time()))
                                   for s in students[first:first + batch]))
        memory["connected"] = sum(rss_mb(pid) for pid in server_pids)
        memory["cpu_at_clicks"] = sum(cpu_s(pid) for pid in server_pids)
        await asyncio.gather(*(s.start() for s in students))  # everyone clicks Start at once
        await asyncio.gather(*(s.watch(deadline) for s in students if s.run_id))
        memory["cpu_at_end"] = sum(cpu_s(pid) for pid in server_pids)
    finally:
        stop.set()
        await sampler
        memory["peak"] = peak["mb"]
        memory["load"] = statistics.fmean(loads) if loads else 0.0
        await asyncio.gather(*(s.close() for s in students if hasattr(s, "ws")), return_exceptions=True)


async def visit_once(urls: list[str], query: str, deadline: float) -> None:
    """Open the Train page once on each server and leave, as a teacher checking each server would."""
    for k, url in enumerate(urls):
        visitor = Student(MAX_STUDENTS + k, url, query)
        await visitor.connect(timeout=max(5.0, deadline - time.time()))
        await visitor.close()


def check_runs(runs: Path, students: list[Student]) -> dict:
    """What the runs folder says: every student's run finished, none lost, none duplicated."""
    folders = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")] if runs.is_dir() else []
    statuses = {}
    owners = []
    seconds = []
    trained_by: dict[str, str] = {}  # run id -> the pid of the app server whose worker trained it
    for folder in folders:
        try:
            summary = json.loads((folder / "summary.json").read_text())
            meta = json.loads((folder / "config.json").read_text())
        except (OSError, ValueError):
            statuses[folder.name] = "unfinished"
            continue
        statuses[folder.name] = summary.get("status")
        server = str((summary.get("worker") or {}).get("server", ""))  # host:pid:tag of the app server
        trained_by[folder.name] = server.split(":")[1] if server.count(":") >= 2 else ""
        owners.append(meta.get("owner"))
        if isinstance(summary.get("train_seconds"), (int, float)):
            seconds.append(float(summary["train_seconds"]))
    wanted = [s.run_id for s in students if s.run_id]
    return {
        "runs_on_disk": len(folders),
        "finished": sum(statuses.get(r) == "finished" for r in wanted),
        "lost": sum(r not in statuses for r in wanted) + sum(1 for s in students if not s.run_id),
        "duplicated": len(wanted) - len(set(wanted)) + max(0, len(folders) - len(set(wanted))),
        "owners_distinct": len(set(owners)) == len(owners),
        # Students whose training a server other than the one they clicked on trained (a queue shared by servers).
        "trained_by_another_server": sum(bool(s.run_id) and trained_by.get(s.run_id) not in ("", str(s.server_pid))
                                         for s in students),
        "train_seconds_mean": statistics.fmean(seconds) if seconds else None,
    }


def run(students: int = 30, batch: int = 10, data: Path | None = None, timeout: float = 900.0,
        query: str = "model=lstm&hidden_size=32&epochs=1&batch_size=64", max_jobs: int | None = None,
        settle_s: float = 10.0, servers: int = 1, all_on_first: bool = False) -> dict:
    """Drive the class; returns the report (see the module's docstring). `servers`: app servers on one runs
    folder (each with `max_jobs` workers), the students spread over them in turn, as behind a proxy, or all on the
    first one (`all_on_first`: the others only take trainings from the shared queue)."""
    students = max(1, min(int(students), MAX_STUDENTS))
    max_jobs = max_jobs or max(1, (os.cpu_count() or 2) - 1)  # the server's default
    data = Path(data or os.environ.get("RNNVIZ_DATA", ROOT / "data" / "names")).expanduser()
    began = time.time()
    client_cpu = time.process_time()
    deadline = began + timeout
    servers = max(1, int(servers))
    with tempfile.TemporaryDirectory(prefix="rnnviz-class-") as tmp:
        runs, logs, ports = Path(tmp) / "runs", [], []
        processes: list[subprocess.Popen] = []
        memory: dict[str, float] = {}
        try:
            for k in range(servers):
                logs.append(Path(tmp) / f"server-{k}.log")
                ports.append(free_port())
                processes.append(start_server(runs, data, ports[-1], logs[-1], max_jobs))
            pids = [process.pid for process in processes]
            on = [0 if all_on_first else i % servers for i in range(students)]
            class_ = [Student(i, f"http://127.0.0.1:{ports[on[i]]}", query, server_pid=pids[on[i]])
                      for i in range(students)]
            if all_on_first:  # a server starts its job manager, and so takes part in the queue, at its first visit
                asyncio.run(visit_once([f"http://127.0.0.1:{port}" for port in ports[1:]], query, deadline))
            time.sleep(2.0)  # the servers' own warm-up
            memory["before"] = sum(rss_mb(pid) for pid in pids)
            asyncio.run(drive(class_, batch, deadline, pids, memory))
            time.sleep(settle_s)  # sessions close and their memory is let go
            memory["after"] = sum(rss_mb(pid) for pid in pids)
        finally:
            for process in processes:
                app_server.stop(process, timeout_s=20)
        disk = check_runs(runs, class_)
        server_log = "".join(log.read_text(errors="replace") for log in logs if log.exists())
    max_jobs *= servers  # the workers of all the servers together, from here on
    clicked = min((s.clicked for s in class_ if s.clicked), default=began)
    results = sorted(s.finished for s in class_ if s.result)
    # While trainings hold both workers and the rest wait: from the clicks until all but max_jobs results are in.
    busy_until = results[-max_jobs - 1] if len(results) > max_jobs else (results[0] if results else clicked)
    waiting = [sec for s in class_ for at, sec in s.reruns if clicked <= at <= busy_until]
    every = [sec for s in class_ for _, sec in s.reruns]
    return {
        "students": students,
        "servers": servers,
        "workers": max_jobs,
        "settings": query,
        "results_arrived": sum(bool(s.result) for s in class_),
        "results": sorted({s.result for s in class_ if s.result}),
        "refused": [s.refused for s in class_ if s.refused],
        **disk,
        "time_to_last_result_s": round(results[-1] - clicked, 1) if results else None,
        "time_to_first_result_s": round(results[0] - clicked, 1) if results else None,
        # The CPU floor: every student's training, one torch thread each, spread over the workers without a gap.
        "cpu_floor_s": round(students * disk["train_seconds_mean"] / max_jobs, 1)
        if disk["train_seconds_mean"] else None,
        "last_result_over_floor": round((results[-1] - clicked) / (students * disk["train_seconds_mean"] / max_jobs),
                                        2) if results and disk["train_seconds_mean"] else None,
        "rerun_while_waiting_p50_s": _round(percentile(waiting, 0.5)),
        "rerun_while_waiting_p95_s": _round(percentile(waiting, 0.95)),
        "rerun_while_waiting_count": len(waiting),
        "rerun_all_p50_s": _round(percentile(every, 0.5)),
        "rerun_all_p95_s": _round(percentile(every, 0.95)),
        "rss_before_mb": round(memory.get("before", 0.0), 1),
        "rss_connected_mb": round(memory.get("connected", 0.0), 1),
        "rss_peak_mb": round(memory.get("peak", 0.0), 1),
        "rss_after_mb": round(memory.get("after", 0.0), 1),
        "server_cpu_s": round(memory.get("cpu_at_end", 0.0) - memory.get("cpu_at_clicks", 0.0), 1),
        "server_cores_busy": round((memory.get("cpu_at_end", 0.0) - memory.get("cpu_at_clicks", 0.0))
                                   / max(1e-9, results[-1] - clicked), 2) if results else None,
        "machine_load_average": round(memory.get("load", 0.0), 1),
        "load_client_cpu_s": round(time.process_time() - client_cpu, 1),  # these simulated students' own cost
        "full_page_runs": sum(s.full_reruns for s in class_),
        "server_tracebacks": server_log.count("Traceback"),
        "wall_s": round(time.time() - began, 1),
        "cpus": os.cpu_count(),
        "mean_rerun_s": _round(statistics.fmean(every)) if every else None,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=30, help=f"simulated students (at most {MAX_STUDENTS})")
    parser.add_argument("--batch", type=int, default=10, help="students who open the page together")
    parser.add_argument("--data", type=Path, default=None, help="surname folder (default: RNNVIZ_DATA)")
    parser.add_argument("--query", default="model=lstm&hidden_size=32&epochs=1&batch_size=64",
                        help="the link's settings every student opens")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for the whole run")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    parser.add_argument("--servers", type=int, default=1,
                        help="app servers on one runs folder, students spread over them (a shared queue)")
    parser.add_argument("--workers", type=int, default=None,
                        help="RNNVIZ_MAX_JOBS for the server (default: its own, the cores less one)")
    args = parser.parse_args(argv)
    report = run(args.students, args.batch, args.data, args.timeout, args.query, max_jobs=args.workers,
                 servers=args.servers)
    text = json.dumps(report, indent=2)
    sys.stdout.write(text + "\n")
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    ok = (report["results_arrived"] == report["students"] == report["finished"] and report["lost"] == 0
          and report["duplicated"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
