"""The task huey's consumer runs for huey_drain.py: the request postcall sends, over a kept-alive
connection per consumer thread."""
import http.client
import os
import threading
import urllib.parse

from huey import SqliteHuey

huey = SqliteHuey(filename=os.environ["HUEY_DB"])
target = urllib.parse.urlsplit(os.environ["HUEY_BASE"])
connections = threading.local()


@huey.task()
def deliver(event_id, call_id, q1, ani):
    connection = getattr(connections, "connection", None)
    if connection is None:
        connection = connections.connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
    connection.request("POST", f"/bench/{urllib.parse.quote(call_id)}", urllib.parse.urlencode({"q1": q1, "ani": ani}), {
        "Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": f"{os.environ['HUEY_KEY_PREFIX']}-{event_id}",
        "User-Agent": os.environ["HUEY_AGENT"]})
    response = connection.getresponse()
    response.read()
    return response.status
