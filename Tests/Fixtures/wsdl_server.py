#!/usr/bin/env python3
"""Serves WSDL fixtures over http on 127.0.0.1 the way WCF does: Service.svc?wsdl, ?wsdl=wsdl0,
?xsd=xsd0 map to files of a fixture folder (service.wsdl, wsdl0.wsdl, xsd0.xsd); any other path
is a file of the folder. {BASE} in a file becomes this server's own http://127.0.0.1:PORT.
Prints its port on stdout; stops with its parent or after --lifetime seconds.
"""
import argparse
import http.server
import os
import urllib.parse

from serving import serve_until_parent_exits


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder", required=True)
    parser.add_argument("--lifetime", type=float, default=600)
    parser.add_argument("--log", help="accepted for the tests' common server harness; nothing is logged")
    args = parser.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            query = url.query
            if query == "wsdl":
                name = "service.wsdl"
            elif query.startswith("wsdl="):
                name = query[5:] + ".wsdl"
            elif query.startswith("xsd="):
                name = query[4:] + ".xsd"
            else:
                name = os.path.basename(url.path)
            path = os.path.join(args.folder, name)
            if not os.path.isfile(path):
                self.send_error(404)
                return
            base = f"http://127.0.0.1:{self.server.server_port}"
            body = open(path, encoding="utf-8").read().replace("{BASE}", base).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *arguments):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    serve_until_parent_exits(server, server.server_port, args.lifetime)


if __name__ == "__main__":
    main()
