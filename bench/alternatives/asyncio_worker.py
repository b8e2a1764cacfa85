"""The issue's hand-written alternative to postcall: an outbox worker in asyncio, aiohttp and
sqlite3, as a careful developer might write one. It claims pending rows of postcall's own outbox
in batches, through the index postcall claims through, sends each the request postcall sends
(URL, form body, headers), at most CONCURRENCY at once, and records each outcome (the row's
state and an attempt, no summaries) in one transaction per batch. It stops when nothing is
pending or in flight, and prints its events per second and CPU time per event.

    asyncio_worker.py DATABASE BASE_URL CONCURRENCY USER_AGENT OUTBOX_ID
"""
import asyncio
import json
import resource
import sqlite3
import sys
import time
import urllib.parse

import aiohttp


async def main():
    path, base, concurrency, agent, outbox_id = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    # postcall's outbox keeps its attempts in a file of its own beside it.
    db.execute("ATTACH DATABASE ? AS attempt_log", (path + "-attempts",))
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA attempt_log.synchronous = NORMAL")
    finished = []
    in_flight = set()
    started = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_SELF)
    delivered = 0

    async def deliver(session, event_id, call_id, variables):
        values = json.loads(variables)
        body = urllib.parse.urlencode({"q1": values.get("q1", ""), "ani": values.get("ani", "")})
        began = time.time()
        status = None
        try:
            async with session.post(f"{base}/bench/{urllib.parse.quote(call_id)}", data=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": f"{outbox_id}-{event_id}"}) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError):
            pass
        finished.append((event_id, status is not None and 200 <= status < 300, status, began, time.time()))

    def record():
        nonlocal delivered
        batch = finished[:]
        finished.clear()
        db.execute("BEGIN IMMEDIATE")
        for event_id, ok, status, began, ended in batch:
            db.execute("UPDATE outbox SET state = ?, lease_owner = NULL, delivered_at = ? WHERE id = ?",
                       ("delivered" if ok else "pending", int(ended * 1000) if ok else None, event_id))
            db.execute("INSERT INTO attempts (event_id, attempt, worker, started_at, duration_ms, outcome, http_status)"
                       " VALUES (?, 1, 'asyncio', ?, ?, ?, ?)",
                       (event_id, int(began * 1000), int((ended - began) * 1000), "delivered" if ok else "retry", status))
        db.execute("COMMIT")
        delivered += sum(1 for row in batch if row[1])

    def claim(limit):
        db.execute("BEGIN IMMEDIATE")
        # The index postcall claims through: pending rows of one webservice, oldest due first.
        rows = db.execute("SELECT id, call_id, variables FROM outbox INDEXED BY outbox_pending_due"
                          " WHERE state = 'pending' AND webservice = 'bench' AND next_attempt_at <= ?"
                          " ORDER BY next_attempt_at LIMIT ?", (int(time.time() * 1000), limit)).fetchall()
        db.executemany("UPDATE outbox SET state = 'in_flight', lease_owner = 'asyncio', attempts = attempts + 1 WHERE id = ?",
                       [(row[0],) for row in rows])
        db.execute("COMMIT")
        return rows

    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency), timeout=timeout,
                                     headers={"User-Agent": agent}) as session:
        while True:
            if finished:
                record()
            # Twice the concurrency claimed, so the connections never wait for a claim.
            rows = claim(2 * concurrency - len(in_flight)) if len(in_flight) < concurrency else []
            for row in rows:
                task = asyncio.ensure_future(deliver(session, *row))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            if not in_flight and not rows and not finished:
                break
            if in_flight:
                await asyncio.wait(in_flight, timeout=0.005, return_when=asyncio.FIRST_COMPLETED)
    elapsed = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
    print(f"{delivered / elapsed} {cpu / max(1, delivered) * 1e6}")


asyncio.run(main())
