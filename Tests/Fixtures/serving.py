"""What the threaded test servers share: announce the port, serve, and stop with the test process."""
import os
import threading
import time


def serve_until_parent_exits(server, port, lifetime):
    """Prints `port` for the test that started us, serves on a thread, and returns when that test
    process is gone (even if it crashed) or after `lifetime` seconds."""
    print(port, flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    parent, deadline = os.getppid(), time.monotonic() + lifetime
    while time.monotonic() < deadline and os.getppid() == parent:
        time.sleep(0.5)
