#!/usr/bin/env python3
"""An HTTPS server for postcall's TLS tests, on 127.0.0.1 only: Python's http.server behind its
ssl module, with the certificate given, demanding a client certificate signed by --client-ca.

It records every request it answers as one JSON line in --log: method, path and the client
certificate's common name. A client without an acceptable certificate fails the handshake and
is not recorded. It prints its port on stdout once it listens, and stops by itself after
--lifetime seconds.
"""
import argparse
import http.server
import json
import ssl
import threading

from serving import serve_until_parent_exits

lock = threading.Lock()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--lifetime", type=float, default=300)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--client-ca", required=True)
    args = parser.parse_args()
    log = open(args.log, "a")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            self.rfile.read(length)
            subject = dict(item[0] for item in self.connection.getpeercert().get("subject", ()))
            with lock:
                log.write(json.dumps({"method": self.command, "path": self.path, "client": subject.get("commonName")}) + "\n")
                log.flush()
            body = b"received"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *arguments):
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(args.client_ca)

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self):
            connection, address = super().get_request()
            return context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address

        def handle_error(self, request, client_address):
            pass  # a refused handshake is what several tests expect

    class HandshakingHandler(Handler):
        def setup(self):
            self.request.do_handshake()
            super().setup()

    server = Server(("127.0.0.1", 0), HandshakingHandler)
    serve_until_parent_exits(server, server.server_address[1], args.lifetime)


if __name__ == "__main__":
    main()
