#!/usr/bin/env python3
"""postcall benchmark: a local HTTP receiver, an outbox filled through SQL as an IVR would, W
worker processes, and the same receiver driven by a plain curl multi loop (curl --parallel) with
the same concurrency and no database, for the ratio.

    python3 bench/bench.py --events 10000 --workers 1 --concurrency 64

Reports delivered events/s, insert-to-delivered latency (p50/p99/max), worker CPU time per
event, worker peak RSS, and raw curl requests/s. Not a test: figures depend on the machine.
"""
import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_receiver(work):
    receiver = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "Tests/Fixtures/http_recorder.py"), "--log", os.path.join(work, "r.jsonl"),
         "--no-record", "--lifetime", "1800"],
        stdout=subprocess.PIPE, text=True)
    return receiver, int(receiver.stdout.readline())


def proc_stat(pid):
    """(cpu seconds, peak RSS in MiB) of a live process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    peak = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return cpu, peak


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_postcall(args, port, work):
    db = os.path.join(work, "bench.db")
    env = dict(os.environ, POSTCALL_DB=db)
    subprocess.run([args.postcall, "webservice", "set", "bench", "--method", "POST",
                    "--url", f"http://127.0.0.1:{port}/bench/{{{{call_id}}}}", "--param", "q1={{q1}}",
                    "--param", "ani={{ani}}", "--timeout", "10"], check=True, env=env, stdout=subprocess.DEVNULL)
    ivr = sqlite3.connect(db, timeout=30, isolation_level=None)
    insert = "INSERT INTO outbox (webservice, call_id, reason, variables) VALUES ('bench', ?, 'hangup', ?)"

    if args.mode == "backlog":
        ivr.execute("BEGIN")
        for i in range(args.events):
            ivr.execute(insert, (f"call-{i}", '{"q1":"5","ani":"+15551230000"}'))
        ivr.execute("COMMIT")

    workers = [subprocess.Popen([args.postcall, "worker", "--concurrency", str(args.concurrency), "--id", f"bench-{w}",
                                 "--log-level", "warning"], env=env)
               for w in range(args.workers)]
    started = time.monotonic()
    insert_latencies = []
    if args.mode == "paced":
        interval = 1.0 / args.rate
        for i in range(args.events):
            due = started + i * interval
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            before = time.monotonic()
            ivr.execute(insert, (f"call-{i}", '{"q1":"5","ani":"+15551230000"}'))
            insert_latencies.append((time.monotonic() - before) * 1000)

    samples = {}
    while True:
        remaining = ivr.execute("SELECT count(*) FROM outbox WHERE state IN ('pending', 'in_flight')").fetchone()[0]
        for worker in workers:
            samples[worker.pid] = proc_stat(worker.pid)
        if remaining == 0:
            break
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    for worker in workers:
        samples[worker.pid] = proc_stat(worker.pid)
        worker.terminate()
    for worker in workers:
        worker.wait()

    rows = ivr.execute("SELECT delivered_at - created_at, delivered_at FROM outbox WHERE state = 'delivered'").fetchall()
    latencies = [row[0] for row in rows]
    # Delivery throughput: first to last delivery, so a backlog's start-up is not counted.
    span = (max(r[1] for r in rows) - min(r[1] for r in rows)) / 1000 if len(rows) > 1 else elapsed
    cpu = sum(s[0] for s in samples.values())
    return {
        "delivered": len(rows),
        "events_per_s": len(rows) / span if span > 0 else float("inf"),
        "wall_s": elapsed,
        "latency_ms": (percentile(latencies, 0.5), percentile(latencies, 0.99), max(latencies)),
        "cpu_us_per_event": cpu / max(1, len(rows)) * 1e6,
        "peak_rss_mib": max(s[1] for s in samples.values()),
        "insert_ms": (percentile(insert_latencies, 0.5), percentile(insert_latencies, 0.99),
                      max(insert_latencies)) if insert_latencies else None,
    }


def run_curl(args, port, work):
    config = os.path.join(work, "curl.cfg")
    with open(config, "w") as f:
        for i in range(args.events):
            f.write(f'url = "http://127.0.0.1:{port}/bench/call-{i}"\noutput = "/dev/null"\n')
    started = time.monotonic()
    subprocess.run(["curl", "--silent", "--no-progress-meter", "--parallel", "--parallel-max", str(args.concurrency),
                    "--data", "q1=5&ani=%2B15551230000", "-K", config], check=True)
    return args.events / (time.monotonic() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--mode", choices=["backlog", "paced"], default="backlog",
                        help="backlog: insert everything first; paced: insert at --rate while workers run")
    parser.add_argument("--rate", type=float, default=200, help="events/s inserted in paced mode")
    parser.add_argument("--postcall", default=os.path.join(ROOT, ".build/release/postcall"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="postcall-bench-") as work:
        receiver, port = start_receiver(work)
        try:
            result = run_postcall(args, port, work)
            raw = run_curl(args, port, work)
        finally:
            receiver.terminate()
    print(f"events {args.events}, workers {args.workers}, concurrency {args.concurrency}, mode {args.mode}")
    print(f"postcall delivered      {result['delivered']} in {result['wall_s']:.2f} s")
    print(f"postcall throughput     {result['events_per_s']:.0f} events/s")
    print(f"raw curl multi loop     {raw:.0f} requests/s (same receiver, same concurrency, no database)")
    print(f"ratio                   {result['events_per_s'] / raw:.0%}")
    p50, p99, worst = result["latency_ms"]
    print(f"insert->delivered       p50 {p50} ms, p99 {p99} ms, max {worst} ms")
    print(f"worker CPU per event    {result['cpu_us_per_event']:.0f} us")
    print(f"worker peak RSS         {result['peak_rss_mib']:.1f} MiB")
    if result["insert_ms"]:
        print("IVR insert latency      p50 %.2f ms, p99 %.2f ms, max %.2f ms" % result["insert_ms"])


if __name__ == "__main__":
    main()
