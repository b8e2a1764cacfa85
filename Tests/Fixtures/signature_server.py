#!/usr/bin/env python3
"""An HTTP server for postcall's signing tests, on 127.0.0.1 only, that checks every request's
Standard Webhooks signature with the specification's own Python library (`standardwebhooks`),
once for each --secret given.

It records every request as one JSON line in --log: method, path, the webhook-* headers, the
body's size, and for each secret whether the signature verified. It prints its port on stdout
once it listens, and stops by itself after --lifetime seconds.
"""
import argparse
import http.server
import json
import threading

from serving import serve_until_parent_exits
from standardwebhooks import Webhook, WebhookVerificationError

lock = threading.Lock()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--lifetime", type=float, default=300)
    parser.add_argument("--secret", action="append", default=[])
    args = parser.parse_args()
    log = open(args.log, "a")
    hooks = [Webhook(secret) for secret in args.secret]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle_any(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name: value for name, value in self.headers.items()}
            verified = []
            for hook in hooks:
                try:
                    hook.verify(body, headers, json_parse=False)
                    verified.append(True)
                except (WebhookVerificationError, ValueError):
                    verified.append(False)
            entry = {"method": self.command, "path": self.path, "body_size": len(body), "verified": verified,
                     "webhook": {name.lower(): value for name, value in headers.items() if name.lower().startswith("webhook-")}}
            with lock:
                log.write(json.dumps(entry) + "\n")
                log.flush()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_PUT = do_DELETE = handle_any

        def log_message(self, *arguments):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    serve_until_parent_exits(server, server.server_address[1], args.lifetime)


if __name__ == "__main__":
    main()
