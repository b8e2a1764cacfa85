"""The issue's task-queue alternative: huey with its SQLite storage, the POST as a task, drained by
huey's consumer with THREADS worker threads. Queues EVENTS tasks, starts the consumer, waits for
every task's result, and prints the events per second and the consumer's CPU time per event.

    huey_drain.py WORK_DIRECTORY BASE_URL EVENTS THREADS USER_AGENT KEY_PREFIX
"""
import os
import resource
import subprocess
import sys
import time

work, base, events, threads, agent, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
os.environ.update(HUEY_DB=os.path.join(work, "huey.db"), HUEY_BASE=base, HUEY_AGENT=agent, HUEY_KEY_PREFIX=prefix)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import huey_tasks  # noqa: E402  (reads the environment above)

for i in range(events):
    huey_tasks.deliver(i + 1, f"call-{i}", "5", "+15551230000")
consumer = subprocess.Popen(
    [sys.executable, "-m", "huey.bin.huey_consumer", "huey_tasks.huey", "-w", str(threads), "-k", "thread", "-q"],
    cwd=os.path.dirname(os.path.abspath(__file__)), env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
started = time.monotonic()
while huey_tasks.huey.result_count() < events:
    if consumer.poll() is not None:
        raise SystemExit("huey's consumer stopped")
    time.sleep(0.05)
elapsed = time.monotonic() - started
consumer.terminate()
consumer.wait()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{events / elapsed} {(usage.ru_utime + usage.ru_stime) / events * 1e6}")
