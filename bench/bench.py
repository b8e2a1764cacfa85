#!/usr/bin/env python3
"""postcall benchmark. Not a test: the figures depend on the machine. Build first:

    swift build -c release --product postcall
    python3 bench/bench.py                  # every scenario, several minutes
    python3 bench/bench.py throughput       # or one: throughput, latency, claim, mixed, rss

Each scenario starts the receiver in Tests/Fixtures/http_recorder.py on 127.0.0.1, fills the
outbox through SQL as an IVR would, and runs `postcall worker` processes:

- throughput: a backlog of --events delivered by --workers workers at each concurrency of --sweep
  to a cheap sink (nginx answering 204, installed from Debian if missing; --sink recorder for the
  test receiver); events/s, CPU time per event, peak RSS, IVR insert latency while the workers
  run flat out; then the same POSTs, same concurrency, no database, from a C program over one
  libcurl multi handle (bench/curl_loop.c, built with cc), once plain and once using libcurl as
  postcall does (a parsed URL, no proxy lookups, libcurl's own form Content-Type line), and from
  the curl command line (curl --parallel), with their CPU per event; the ratios are postcall
  against each C loop.
- ivr: --ivr-runs drains of --ivr-events each at --concurrency to nginx, with throughput's
  inserter (one event every 5 ms from a process of its own, a thousand or more a run), here
  taking the write lock first (the same busy handler) so that each insert's wait for the lock
  and its commit are timed apart; the inserts' p50/p99/p99.9/max, how many took over 5 and over
  10 ms, how many of those over 5 ms spent most of it waiting for the lock, and the commits' p99.
- latency: events inserted one at a time on an idle system; from the insert's commit to the
  request's arrival at the receiver (microseconds, both on this host's clock) p50/p99/max, next
  to the floor (a POST sent straight to that receiver) and the history's whole-ms figures.
- claim: throughput of the first 5,000 deliveries from a backlog of 5,000 and of 1,000,000.
- mixed: 10 webservices, one of them slow (1 s per request); p99 latency of the healthy nine
  with and without the slow one.
- rss: 1,000 transfers in flight at once (the receiver holds each for 2 s); peak worker RSS.
- upload: 50 MiB recordings uploaded as multipart file parts, 1, 16 and 64 at once, to a sink
  that reads and discards the bodies; MiB/s and the worker's peak RSS against its idle RSS.
- fleet: a backlog of --fleet-events drained by 1, 2 and 4 workers (--concurrency each) sharing
  one local PostgreSQL server (Debian's, started in a temporary folder with its default settings,
  synchronous_commit on), next to the same on one SQLite file; events/s and CPU per event. First,
  insert to delivered on PostgreSQL for --latency-events inserted one at a time through psql.
- alternatives: issue 14's table. A backlog of --alternatives-events at --concurrency to nginx:
  postcall, the C loop and curl as in throughput, then two other ways to drain it, in a virtual
  environment with aiohttp and huey from PyPI: a hand-written asyncio + aiohttp + sqlite3 outbox
  worker on postcall's own outbox (bench/alternatives/asyncio_worker.py) and huey's consumer
  with its SQLite storage and as many threads (bench/alternatives/huey_drain.py); events/s and
  CPU per event of each.

Every event carries two variables, the two the webservice's template uses; --answers N adds N
survey answers that it does not use (about 52 bytes each), as a real IVR's events carry: the
requests stay the same, so the C loop's figures do not change and the ratios show what the
weight of the call's data costs postcall.
"""
import argparse
import http.client
import json
import glob
import os
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Every event's variables: the two the webservice's template uses, and with --answers as many
# more as a survey's, which it does not (set in main).
VARIABLES = '{"q1":"5","ani":"+15551230000"}'
# The worker's default User-Agent (WorkerConfiguration), which the C loop sends too.
USER_AGENT = "postcall/0.1"


class Receiver:
    def __init__(self, work):
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "Tests/Fixtures/http_recorder.py"), "--log", os.path.join(work, "r.jsonl"),
             "--no-record", "--lifetime", "1800"],
            stdout=subprocess.PIPE, text=True)
        self.port = int(self.process.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.process.terminate()
        self.process.wait()


def attempt_log_reader(path):
    """A connection of its own with the attempt log attached, which the IVR's connection lacks
    (as the IVR's would: attaching it there would make its BEGIN IMMEDIATE lock that file too)."""
    reader = sqlite3.connect(path, timeout=30, isolation_level=None)
    reader.execute("ATTACH DATABASE ? AS attempt_log", (path + "-attempts",))
    return reader


class Outbox:
    """A fresh database with webservices, and the IVR's connection to it."""

    def __init__(self, args, work, name):
        self.args = args
        self.path = os.path.join(work, name)
        self.env = dict(os.environ, POSTCALL_DB=self.path)
        subprocess.run([args.postcall, "migrate"], check=True, env=self.env, stdout=subprocess.DEVNULL)
        self.ivr = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.history = attempt_log_reader(self.path)

    def webservice(self, name, url):
        subprocess.run([self.args.postcall, "webservice", "set", name, "--method", "POST", "--url", url,
                        "--param", "q1={{q1}}", "--param", "ani={{ani}}", "--timeout", "10"],
                       check=True, env=self.env, stdout=subprocess.DEVNULL)

    def insert(self, webservice, call_id):
        self.ivr.execute("INSERT INTO outbox (webservice, call_id, variables) VALUES (?, ?, ?)",
                         (webservice, call_id, VARIABLES))

    def backlog(self, webservice, count):
        self.ivr.execute("BEGIN")
        for i in range(count):
            self.insert(webservice, f"call-{i}")
        self.ivr.execute("COMMIT")

    def workers(self, count, concurrency, extra=()):
        return [subprocess.Popen([self.args.postcall, "worker", "--concurrency", str(concurrency), "--id", f"bench-{w}",
                                  "--log-level", "error", *extra], env=self.env)
                for w in range(count)]

    def remaining(self):
        return self.ivr.execute(
            "SELECT (SELECT count(*) FROM outbox INDEXED BY outbox_pending_due WHERE state = 'pending')"
            " + (SELECT count(*) FROM outbox INDEXED BY outbox_lease_expiry WHERE state = 'in_flight')").fetchone()[0]

    def delivered_count(self):
        # Every attempt delivers here; max(id) is one index lookup, where counting delivered rows
        # would scan the whole table and slow the very workers being measured.
        return self.history.execute("SELECT coalesce(max(id), 0) FROM attempts").fetchone()[0]

    def latencies(self, where="1"):
        return [row[0] for row in self.ivr.execute(
            f"SELECT delivered_at - created_at FROM outbox WHERE state = 'delivered' AND {where}")]


def proc_stat(pid):
    """(cpu seconds, peak RSS in MiB) of a live process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    peak = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return cpu, peak


def stop(workers):
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def wait_until(condition, sample=None, limit=600):
    deadline = time.monotonic() + limit
    while not condition():
        if sample:
            sample()
        if time.monotonic() > deadline:
            raise SystemExit("benchmark timed out")
        time.sleep(0.01)


class NginxSink:
    """Debian's nginx answering 204 to everything on 127.0.0.1, one worker process, no logs: a
    receiver that costs little CPU, so the throughput ratios measure the clients, not the sink.
    Installed with apt-get the first time (as root, or through sudo)."""

    def __init__(self, work):
        if not shutil.which("nginx") and not os.path.exists("/usr/sbin/nginx"):
            sudo = [] if os.getuid() == 0 else ["sudo"]
            subprocess.run(sudo + ["apt-get", "install", "-y", "-q", "nginx"], check=True, stdout=subprocess.DEVNULL,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        self.directory = os.path.join(work, "nginx")
        os.makedirs(self.directory)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        config = os.path.join(self.directory, "nginx.conf")
        with open(config, "w") as f:
            f.write(f"""worker_processes 1;
daemon off;
pid {self.directory}/nginx.pid;
error_log {self.directory}/error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {self.directory}/body;
    keepalive_requests 10000000;
    server {{ listen 127.0.0.1:{self.port}; location / {{ return 204; }} }}
}}
""")
        self.process = subprocess.Popen(["/usr/sbin/nginx", "-c", config, "-p", self.directory],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        wait_until(lambda: subprocess.run(["curl", "-s", "-o", "/dev/null", self.url]).returncode == 0, limit=10)

    def stop(self):
        self.process.terminate()
        self.process.wait()


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def curl_loop_binary(work):
    """bench/curl_loop.c, built with the system compiler once per run."""
    binary = os.path.join(work, "curl_loop")
    if not os.path.exists(binary):
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libcurl"], check=True, capture_output=True,
                               text=True).stdout.split()
        subprocess.run(["cc", "-O2", "-o", binary, os.path.join(ROOT, "bench/curl_loop.c"), *flags], check=True)
    return binary


def c_loop(args, sink, work, events, concurrency, tuned=False):
    """The same POSTs through one libcurl multi handle in C; events/s and CPU per event. `tuned`
    uses libcurl as postcall does (see bench/curl_loop.c)."""
    # Built before the clock starts: the compiler's CPU counted as the first run's.
    binary = curl_loop_binary(work)
    before = children_cpu()
    rate = float(subprocess.run([binary, sink.url, str(events), str(concurrency), USER_AGENT]
                                + (["tuned"] if tuned else []), check=True, capture_output=True, text=True).stdout)
    return rate, (children_cpu() - before) / events * 1e6


def raw_curl(args, sink, work, events, concurrency):
    """The same POSTs through the curl command line (curl --parallel); events/s and CPU per event."""
    config = os.path.join(work, "curl.cfg")
    with open(config, "w") as f:
        for i in range(events):
            f.write(f'url = "{sink.url}/bench/call-{i}"\noutput = "/dev/null"\n')
    before = children_cpu()
    started = time.monotonic()
    subprocess.run(["curl", "--silent", "--no-progress-meter", "--parallel", "--parallel-max", str(concurrency),
                    "--data", "q1=5&ani=%2B15551230000", "-K", config], check=True)
    return events / (time.monotonic() - started), (children_cpu() - before) / events * 1e6


# The IVR while a worker drains: says it is ready, then inserts every 5 ms, each timed, until
# SIGTERM; then the milliseconds, one insert per line. With "split", each insert takes the write
# lock first (BEGIN IMMEDIATE, the same busy handler) so its line also says how long it waited
# for the lock and how long its commit took: total, wait, commit.
IVR_INSERTER = r"""
import signal, sqlite3, sys, time
stopping = []
signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
ivr = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
split = sys.argv[3:] == ["split"]
print("ready", flush=True)
timings, n = [], 0
while not stopping:
    before = time.monotonic()
    if split:
        ivr.execute("BEGIN IMMEDIATE")
        locked = time.monotonic()
    ivr.execute("INSERT INTO outbox (webservice, call_id, variables) VALUES ('bench', ?, ?)", (f"ivr-{n}", sys.argv[2]))
    if split:
        inserted = time.monotonic()
        ivr.execute("COMMIT")
    done = time.monotonic()
    timings.append(f"{(done - before) * 1000:.3f}" + (f" {(locked - before) * 1000:.3f} {(done - inserted) * 1000:.3f}" if split else ""))
    n += 1
    time.sleep(0.005)
print("\n".join(timings))
"""


def drain_with_ivr(outbox, workers, events, split=False):
    """Waits for `events` deliveries while an IVR inserts; returns the seconds, each insert's milliseconds
    as a tuple (its total; with `split` also its wait for the lock and its commit) and each worker's
    last (CPU seconds, peak RSS)."""
    samples = {}
    # The IVR is a process of its own, as a real one is: as a thread of this one it shared the
    # interpreter's lock with the sampling below and counted those waits as insert time.
    inserter = subprocess.Popen([sys.executable, "-c", IVR_INSERTER, outbox.path, VARIABLES] + (["split"] if split else []),
                                stdout=subprocess.PIPE, text=True)
    inserter.stdout.readline()
    started = time.monotonic()
    wait_until(lambda: outbox.delivered_count() >= events,
               lambda: samples.update({w.pid: proc_stat(w.pid) for w in workers}))
    elapsed = time.monotonic() - started
    inserter.terminate()
    inserts = [tuple(map(float, line.split())) for line in inserter.communicate()[0].splitlines()]
    samples.update({w.pid: proc_stat(w.pid) for w in workers})
    return elapsed, inserts, samples


def throughput_run(args, sink, work, concurrency):
    """One backlog drained at one concurrency: postcall, then the C loop and the curl command line."""
    outbox = Outbox(args, work, f"throughput-{concurrency}.db")
    outbox.webservice("bench", sink.url + "/bench/{{call_id}}")
    outbox.backlog("bench", args.events)
    # Every slot for the one webservice, so the worker keeps as many requests in flight as the
    # references do (by default one webservice gets three quarters of them).
    workers = outbox.workers(args.workers, concurrency, ["--webservice-concurrency", str(concurrency)])
    elapsed, inserts, samples = drain_with_ivr(outbox, workers, args.events)
    insert_ms = [total for total, *_ in inserts]
    stop(workers)
    delivered = outbox.delivered_count()
    # The same number of requests in flight in total as the workers keep.
    in_flight = concurrency * args.workers
    return {
        "concurrency": concurrency,
        "rate": args.events / elapsed,
        "cpu_us": sum(s[0] for s in samples.values()) / delivered * 1e6,
        "rss": max(s[1] for s in samples.values()),
        "insert": (percentile(insert_ms, .5), percentile(insert_ms, .99), max(insert_ms)),
        "c": c_loop(args, sink, work, args.events, in_flight),
        "tuned": c_loop(args, sink, work, args.events, in_flight, tuned=True),
        "cli": raw_curl(args, sink, work, args.events, in_flight),
    }


def throughput(args, receiver, work):
    sink = NginxSink(work) if args.sink == "nginx" else receiver
    try:
        runs = [throughput_run(args, sink, work, c) for c in args.sweep]
    finally:
        if sink is not receiver:
            sink.stop()
    print(f"throughput: a backlog of {args.events:,} events, {args.workers} worker(s), sink: {args.sink}; C loop = the same "
          "POSTs through one libcurl multi handle (bench/curl_loop.c), tuned C loop = the same using libcurl as postcall does, "
          "curl CLI = curl --parallel; no database for any of them")
    print("  concurrency   postcall   CPU/event   C loop   CPU/event   ratio   tuned C loop   CPU/event   ratio   curl CLI   CPU/event"
          "   peak RSS   IVR insert p50 / p99 / max"
          + ("" if args.workers == 1 else f"\n  (per worker; the references run {args.workers} times as many at once)"))
    for run in runs:
        p50, p99, most = run["insert"]
        (c_rate, c_cpu), (tuned_rate, tuned_cpu), (cli_rate, cli_cpu) = run["c"], run["tuned"], run["cli"]
        print(f"  {run['concurrency']:>11}   {run['rate']:>8,.0f}   {run['cpu_us']:>6.0f} us   {c_rate:>6,.0f}   {c_cpu:>6.0f} us"
              f"   {run['rate'] / c_rate:>5.0%}   {tuned_rate:>12,.0f}   {tuned_cpu:>6.0f} us   {run['rate'] / tuned_rate:>5.0%}"
              f"   {cli_rate:>8,.0f}   {cli_cpu:>6.0f} us   {run['rss']:>5.1f} MiB   {p50:.1f} / {p99:.1f} / {most:.1f} ms")
    best, best_c = max(runs, key=lambda r: r["rate"]), max(runs, key=lambda r: r["c"][0])
    print(f"  best against best: postcall {best['rate']:,.0f} events/s (concurrency {best['concurrency']}) / C loop "
          f"{best_c['c'][0]:,.0f} (concurrency {best_c['concurrency']}) = {best['rate'] / best_c['c'][0]:.0%}")


# A receiver that reads each request's body in chunks and throws it away, so that memory and CPU
# on its side stay flat whatever the upload's size (the recorder keeps bodies). Given a file, it
# also notes when each request's head arrived (wall clock, microseconds) next to its target, for
# latencies finer than the database's whole milliseconds.
SINK = r"""
import asyncio, sys, time
log = open(sys.argv[1], "a", buffering=1) if len(sys.argv) > 1 else None
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            arrived = time.time()
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            while length > 0:
                chunk = await reader.read(min(length, 1 << 20))
                if not chunk:
                    return
                length -= len(chunk)
            if log:
                log.write(head.split(b" ", 2)[1].decode() + " %.6f\n" % arrived)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""


def ivr(args, receiver, work):
    """The IVR's inserts through a drain long enough for their p99 to mean something (a throughput
    row's few hundred inserts make it their third slowest)."""
    sink = NginxSink(work)
    try:
        runs = []
        for run in range(args.ivr_runs):
            outbox = Outbox(args, work, f"ivr-{run}.db")
            outbox.webservice("bench", sink.url + "/bench/{{call_id}}")
            outbox.backlog("bench", args.ivr_events)
            workers = outbox.workers(1, args.concurrency, ["--webservice-concurrency", str(args.concurrency)])
            elapsed, inserts, _ = drain_with_ivr(outbox, workers, args.ivr_events, split=True)
            stop(workers)
            runs.append((args.ivr_events / elapsed, inserts))
    finally:
        sink.stop()
    print(f"ivr: {args.ivr_events:,} events drained to nginx at concurrency {args.concurrency} while another process inserts "
          "one event every 5 ms (Python's sqlite3: synchronous = FULL, its default busy handler), each insert timed; of those "
          "over 5 ms, how many waited most of their time for the write lock, and the commits' own p99")
    print("  events/s   inserts   p50 / p99 / p99.9 / max ms   over 5 ms   over 10 ms   lock-bound   commit p99 ms")
    for rate, inserts in runs:
        insert_ms = [total for total, _, _ in inserts]
        figures = " / ".join(f"{value:.1f}" for value in
                             (percentile(insert_ms, .5), percentile(insert_ms, .99), percentile(insert_ms, .999), max(insert_ms)))
        lock_bound = sum(total > 5 and wait > total / 2 for total, wait, _ in inserts)
        commit_p99 = percentile([commit for _, _, commit in inserts], .99)
        print(f"  {rate:>8,.0f}   {len(insert_ms):>7,}   {figures:>26}   {sum(t > 5 for t in insert_ms):>9}"
              f"   {sum(t > 10 for t in insert_ms):>10}   {lock_bound:>10}   {commit_p99:>13.1f}")


def arrivals(path):
    times = {}
    with open(path) as f:
        for line in f:
            target, arrived = line.split()
            times.setdefault(target, float(arrived))
    return times


def latency(args, receiver, work):
    log = os.path.join(work, "arrivals.log")
    sink = subprocess.Popen([sys.executable, "-c", SINK, log], stdout=subprocess.PIPE, text=True)
    port = int(sink.stdout.readline())
    try:
        # The floor: the same receiver, POSTs sent straight from here on one kept-alive connection.
        connection = http.client.HTTPConnection("127.0.0.1", port)
        sent = {}
        for i in range(200):
            sent[f"/floor/{i}"] = time.time()
            connection.request("POST", f"/floor/{i}", body=b"q1=5", headers={"Content-Type": "application/x-www-form-urlencoded"})
            connection.getresponse().read()
            time.sleep(0.005)
        connection.close()
        outbox = Outbox(args, work, "latency.db")
        outbox.webservice("bench", f"http://127.0.0.1:{port}/bench/{{{{call_id}}}}")
        workers = outbox.workers(1, args.concurrency)
        time.sleep(1)
        committed = {}
        for i in range(args.latency_events):
            outbox.insert("bench", f"call-{i}")  # autocommit: returns once the commit is done
            committed[f"/bench/call-{i}"] = time.time()
            time.sleep(0.02)
        wait_until(lambda: outbox.remaining() == 0)
        stop(workers)
    finally:
        sink.terminate()
        sink.wait()
    arrived = arrivals(log)
    floor = [(arrived[t] - sent[t]) * 1000 for t in sent if t in arrived]
    values = [(arrived[t] - committed[t]) * 1000 for t in committed if t in arrived]
    whole = outbox.latencies()
    print(f"latency: {len(values)} events inserted one at a time, every 20 ms, idle system")
    print(f"  insert commit->request at the receiver   p50 {percentile(values, .5):.2f} ms, p99 {percentile(values, .99):.2f} ms, "
          f"max {max(values):.2f} ms")
    print(f"  floor: a POST straight to that receiver  p50 {percentile(floor, .5):.2f} ms, p99 {percentile(floor, .99):.2f} ms")
    print(f"  created_at->delivered_at (whole ms)      p50 {percentile(whole, .5)} ms, p99 {percentile(whole, .99)} ms, "
          f"max {max(whole)} ms")


def claim(args, receiver, work):
    print("claim: first 5,000 deliveries from a backlog of N pending events")
    for backlog in (5_000, 1_000_000):
        outbox = Outbox(args, work, f"claim-{backlog}.db")
        outbox.webservice("bench", receiver.url + "/bench/{{call_id}}")
        # Generated in SQL: a million inserts through the IVR's statement one by one take minutes.
        outbox.ivr.execute("BEGIN")
        outbox.ivr.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO outbox (webservice, call_id, variables) SELECT 'bench', 'call-' || i, ? FROM n",
            (backlog, VARIABLES))
        outbox.ivr.execute("COMMIT")
        workers = outbox.workers(1, args.concurrency)
        started = time.monotonic()
        wait_until(lambda: outbox.delivered_count() >= 5_000)
        elapsed = time.monotonic() - started
        stop(workers)
        print(f"  backlog {backlog:>9,}      {5_000 / elapsed:,.0f} events/s")


def mixed(args, receiver, work):
    print("mixed: 10 webservices, 100 events/s spread over them, 20 s")
    for slow in (False, True):
        outbox = Outbox(args, work, f"mixed-{slow}.db")
        for n in range(10):
            path = "/sleep/1000" if (slow and n == 0) else "/bench/{{call_id}}"
            outbox.webservice(f"ws{n}", receiver.url + path)
        workers = outbox.workers(1, args.concurrency)
        time.sleep(1)
        for i in range(2000):
            outbox.insert(f"ws{i % 10}", f"call-{i}")
            time.sleep(0.01)
        wait_until(lambda: outbox.remaining() == 0)
        stop(workers)
        healthy = outbox.latencies("webservice <> 'ws0'")
        label = "with ws0 slow (1 s)" if slow else "all healthy       "
        print(f"  {label}     healthy p50 {percentile(healthy, .5)} ms, p99 {percentile(healthy, .99)} ms")


def rss(args, receiver, work):
    outbox = Outbox(args, work, "rss.db")
    outbox.webservice("bench", receiver.url + "/sleep/2000")
    outbox.backlog("bench", 3000)
    workers = outbox.workers(1, 1000, ["--webservice-concurrency", "1000", "--metrics-port", "19464"])
    peak = [0.0]
    in_flight = [0]

    def sample():
        peak[0] = max(peak[0], proc_stat(workers[0].pid)[1])
        try:
            text = urllib.request.urlopen("http://127.0.0.1:19464/metrics", timeout=1).read().decode()
        except OSError:
            return
        for line in text.splitlines():
            if line.startswith("postcall_transfers_in_flight "):
                in_flight[0] = max(in_flight[0], int(float(line.split()[1])))

    wait_until(lambda: outbox.remaining() == 0, sample)
    sample()
    stop(workers)
    print(f"rss: 3,000 events, concurrency 1,000, receiver holds each request 2 s")
    print(f"  most in flight          {in_flight[0]}")
    print(f"  worker peak RSS         {peak[0]:.1f} MiB")


def upload(args, receiver, work):
    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{int(sink.stdout.readline())}/upload"
    recordings = os.path.join(work, "recordings")
    os.makedirs(recordings, exist_ok=True)
    size = 50 << 20
    path = os.path.join(recordings, "message.wav")
    with open(path, "wb") as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))
    print("upload: 50 MiB recordings as multipart file parts (one file, kept; the page cache holds it)")
    print("  at once   recordings   MiB/s   worker RSS idle -> peak")
    try:
        for concurrency in (1, 16, 64):
            outbox = Outbox(args, work, f"upload-{concurrency}.db")
            subprocess.run([args.postcall, "webservice", "set", "voicemail", "--method", "POST", "--url", url,
                            "--param", "call={{call_id}}", "--file", "recording=" + path, "--keep-files", "--timeout", "300"],
                           check=True, env=outbox.env, stdout=subprocess.DEVNULL)
            events = max(4, 2 * concurrency)
            workers = outbox.workers(1, concurrency, ["--webservice-concurrency", str(concurrency)])
            time.sleep(1)
            idle = proc_stat(workers[0].pid)[1]
            peak = [idle]
            started = time.monotonic()
            outbox.backlog("voicemail", events)
            wait_until(lambda: outbox.remaining() == 0,
                       lambda: peak.__setitem__(0, max(peak[0], proc_stat(workers[0].pid)[1])))
            elapsed = time.monotonic() - started
            peak[0] = max(peak[0], proc_stat(workers[0].pid)[1])
            stop(workers)
            delivered = outbox.ivr.execute("SELECT count(*) FROM outbox WHERE state = 'delivered'").fetchone()[0]
            if delivered != events:
                raise SystemExit(f"upload: only {delivered} of {events} recordings were delivered")
            print(f"  {concurrency:>7}   {events:>10}   {events * 50 / elapsed:>5,.0f}   {idle:.1f} -> {peak[0]:.1f} MiB")
    finally:
        sink.terminate()
        sink.wait()


class PostgresServer:
    """Debian's PostgreSQL in a temporary folder, on 127.0.0.1, default settings; as nobody when root."""

    def __init__(self, work):
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))[-1]
        # Its own folder: the benchmark's is private to us, and the server may run as nobody.
        self.directory = tempfile.mkdtemp(prefix="postcall-bench-pg-")
        self.prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] if os.getuid() == 0 else []
        if os.getuid() == 0:
            shutil.chown(self.directory, "nobody", "nogroup")
        subprocess.run(self.prefix + [f"{binaries}/initdb", "-D", f"{self.directory}/data", "-A", "trust", "-U", "postgres",
                                      "-E", "UTF8"], check=True, stdout=subprocess.DEVNULL)
        self.port = 40000 + os.getpid() % 20000
        self.process = subprocess.Popen(
            self.prefix + [f"{binaries}/postgres", "-D", f"{self.directory}/data", "-h", "127.0.0.1", "-p", str(self.port),
                           "-k", self.directory, "-c", "max_connections=100"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: subprocess.run(["psql", "-X", "-q", self.uri("postgres"), "-c", "SELECT 1"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0, limit=30)

    def uri(self, database):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create(self, name):
        self.sql(self.uri("postgres"), f"CREATE DATABASE {name}")
        return self.uri(name)

    @staticmethod
    def sql(uri, text):
        return subprocess.run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", uri, "-c", text],
                              check=True, capture_output=True, text=True).stdout.strip()

    def stop(self):
        self.process.terminate()
        self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def fleet_run(args, receiver, work, db, workers):
    """One backlog at `db` (a SQLite path or a PostgreSQL URI) drained by `workers` workers."""
    env = dict(os.environ, POSTCALL_DB=db)
    subprocess.run([args.postcall, "migrate"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run([args.postcall, "webservice", "set", "bench", "--method", "POST", "--url", receiver.url + "/bench/{{call_id}}",
                    "--param", "q1={{q1}}", "--param", "ani={{ani}}", "--timeout", "10"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    backlog = (f"WITH RECURSIVE numbers(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM numbers WHERE n < {args.fleet_events}) "
               f"INSERT INTO outbox (webservice, call_id, variables) SELECT 'bench', 'call-' || n, '{VARIABLES}' FROM numbers")
    if db.startswith("postgresql://"):
        PostgresServer.sql(db, backlog)
        delivered = lambda: int(PostgresServer.sql(db, "SELECT coalesce(max(id), 0) FROM attempts"))
    else:
        sqlite3.connect(db, timeout=30, isolation_level=None).execute(backlog)
        history = attempt_log_reader(db)
        delivered = lambda: history.execute("SELECT coalesce(max(id), 0) FROM attempts").fetchone()[0]
    processes = [subprocess.Popen([args.postcall, "worker", "--concurrency", str(args.concurrency), "--id", f"host-{w}",
                                   "--log-level", "error"], env=env) for w in range(workers)]
    samples = {}
    started = time.monotonic()
    wait_until(lambda: delivered() >= args.fleet_events, lambda: samples.update({p.pid: proc_stat(p.pid) for p in processes}))
    elapsed = time.monotonic() - started
    samples.update({p.pid: proc_stat(p.pid) for p in processes})
    stop(processes)
    return args.fleet_events / elapsed, sum(s[0] for s in samples.values()) / args.fleet_events * 1e6


def fleet_latency(args, receiver, uri):
    """Insert to delivered on an idle PostgreSQL outbox: events inserted one at a time through one
    psql session, every 20 ms, with one worker waiting on LISTEN."""
    env = dict(os.environ, POSTCALL_DB=uri)
    subprocess.run([args.postcall, "migrate"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run([args.postcall, "webservice", "set", "bench", "--url", receiver.url + "/bench/{{call_id}}"], check=True,
                   env=env, stdout=subprocess.DEVNULL)
    worker = subprocess.Popen([args.postcall, "worker", "--log-level", "error"], env=env)
    time.sleep(1)
    ivr = subprocess.Popen(["psql", "-X", "-q", uri], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    for i in range(args.latency_events):
        ivr.stdin.write(f"INSERT INTO outbox (webservice, call_id) VALUES ('bench', 'call-{i}');\n")
        ivr.stdin.flush()
        time.sleep(0.02)
    ivr.stdin.close()
    ivr.wait()
    count = lambda: int(PostgresServer.sql(uri, "SELECT count(*) FROM outbox WHERE state = 'delivered'"))
    wait_until(lambda: count() >= args.latency_events)
    stop([worker])
    values = [int(v) for v in PostgresServer.sql(uri, "SELECT delivered_at - created_at FROM outbox").split()]
    return percentile(values, .5), percentile(values, .99), max(values)


def fleet(args, receiver, work):
    server = PostgresServer(work)
    try:
        p50, p99, most = fleet_latency(args, receiver, server.create("fleet_latency"))
        print(f"fleet: insert to delivered on PostgreSQL, {args.latency_events} events one every 20 ms, one idle worker: "
              f"p50 {p50} ms, p99 {p99} ms, max {most} ms")
        print(f"fleet: a backlog of {args.fleet_events:,} events drained by 1, 2 and 4 workers of concurrency {args.concurrency}; "
              "PostgreSQL with its default settings (synchronous_commit on) against one SQLite file")
        print("  workers   PostgreSQL events/s   CPU/event (workers)   SQLite events/s   CPU/event")
        for workers in (1, 2, 4):
            pg_rate, pg_cpu = fleet_run(args, receiver, work, server.create(f"fleet_{workers}"), workers)
            lite_rate, lite_cpu = fleet_run(args, receiver, work, os.path.join(work, f"fleet-{workers}.db"), workers)
            print(f"  {workers:>7}   {pg_rate:>19,.0f}   {pg_cpu:>16.0f} us   {lite_rate:>15,.0f}   {lite_cpu:>6.0f} us")
    finally:
        server.stop()


def alternatives_python(work):
    """A virtual environment with aiohttp and huey, from PyPI, for the alternatives."""
    venv = os.path.join(work, "venv")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        made = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True)
        if made.returncode != 0:
            raise SystemExit("alternatives: cannot make a virtual environment for aiohttp and huey"
                             f" (on Debian: apt-get install python3-venv): {made.stderr.strip()}")
        subprocess.run([python, "-m", "pip", "install", "--quiet", "aiohttp", "huey"], check=True)
    return python


def alternatives(args, receiver, work):
    """The issue's table: postcall, the C loop and curl against a hand-written asyncio outbox worker
    and huey, the same backlog and POSTs to nginx at one concurrency."""
    sink = NginxSink(work)
    try:
        python = alternatives_python(work)
        events, concurrency = args.alternatives_events, args.concurrency
        run = throughput_run(argparse.Namespace(**{**vars(args), "events": events, "workers": 1}), sink, work, concurrency)
        outbox = Outbox(args, work, "alternatives-asyncio.db")
        outbox.webservice("bench", sink.url + "/bench/{{call_id}}")
        outbox.backlog("bench", events)
        outbox_id = outbox.ivr.execute("SELECT outbox_id FROM outbox_meta").fetchone()[0]
        script = os.path.join(ROOT, "bench", "alternatives")
        hand_written = subprocess.run(
            [python, os.path.join(script, "asyncio_worker.py"), outbox.path, sink.url, str(concurrency), USER_AGENT, outbox_id],
            check=True, capture_output=True, text=True).stdout.split()
        if outbox.remaining():
            raise SystemExit(f"alternatives: the asyncio worker left {outbox.remaining()} events undelivered")
        huey = subprocess.run(
            [python, os.path.join(script, "huey_drain.py"), work, sink.url, str(events), str(concurrency), USER_AGENT, outbox_id],
            check=True, capture_output=True, text=True).stdout.split()
    finally:
        sink.stop()
    print(f"alternatives: a backlog of {events:,} events at concurrency {concurrency} to nginx, one process each")
    print("  contestant                                        events/s   CPU/event")
    rows = [("C loop over one libcurl multi handle", *run["c"]), ("the same, libcurl used as postcall does", *run["tuned"]),
            ("curl --parallel", *run["cli"]),
            ("postcall worker", run["rate"], run["cpu_us"]),
            ("asyncio + aiohttp + sqlite3 outbox worker", float(hand_written[0]), float(hand_written[1])),
            (f"huey, SqliteHuey, {concurrency} threads", float(huey[0]), float(huey[1]))]
    for name, rate, cpu in rows:
        print(f"  {name:<46} {rate:>9,.0f}   {cpu:>6.0f} us")


SCENARIOS = {"throughput": throughput, "ivr": ivr, "latency": latency, "claim": claim, "mixed": mixed, "rss": rss, "upload": upload,
             "fleet": fleet, "alternatives": alternatives}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", help="any of: " + ", ".join(SCENARIOS) + " (default: all)")
    parser.add_argument("--events", type=int, default=50000, help="backlog of the throughput scenario")
    parser.add_argument("--ivr-events", type=int, default=300000, help="backlog of each run of the ivr scenario")
    parser.add_argument("--ivr-runs", type=int, default=3)
    parser.add_argument("--latency-events", type=int, default=500)
    parser.add_argument("--fleet-events", type=int, default=20000, help="backlog of the fleet scenario, per run")
    parser.add_argument("--alternatives-events", type=int, default=20000, help="backlog of the alternatives scenario")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=64, help="of the worker, in every scenario but throughput and rss")
    parser.add_argument("--sweep", type=lambda text: [int(c) for c in text.split(",")], default=[64, 128, 256],
                        help="the throughput scenario's concurrencies, comma-separated")
    parser.add_argument("--sink", choices=["nginx", "recorder"], default="nginx",
                        help="the throughput scenario's receiver: nginx answering 204 (default) or the test recorder")
    parser.add_argument("--postcall", default=os.path.join(ROOT, ".build/release/postcall"))
    parser.add_argument("--answers", type=int, default=0,
                        help="survey answers added to every event's variables, about 52 bytes each, which the "
                             "webservice's template does not use (20 make the variables about 1 KB)")
    args = parser.parse_args()
    if args.answers:
        global VARIABLES
        answers = {f"answer_{n:02}": f"caller chose option {n % 9 + 1} after the prompt" for n in range(1, args.answers + 1)}
        VARIABLES = json.dumps({"q1": "5", "ani": "+15551230000", **answers}, separators=(",", ":"))
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    with tempfile.TemporaryDirectory(prefix="postcall-bench-") as work:
        receiver = Receiver(work)
        try:
            for name in args.scenarios or list(SCENARIOS):
                SCENARIOS[name](args, receiver, work)
        finally:
            receiver.stop()


if __name__ == "__main__":
    main()
