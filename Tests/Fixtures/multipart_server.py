#!/usr/bin/env python3
"""An HTTP server for postcall's upload tests, on 127.0.0.1 only, built on werkzeug: its
server, and its multipart/form-data parser (this project did not write either).

It records every request as one JSON line in --log: method, path, headers, the text parts and
the file parts of a multipart body (field, filename, Content-Type, size and SHA-256 of the bytes
as parsed), or the size and SHA-256 of any other body. Bodies are streamed, never held whole.

  /status/NNN    answer with status NNN
  /sleep/MS      wait MS milliseconds before reading the body, then answer 200
  anything else  answer 200

It prints its port on stdout once it listens, and stops by itself after --lifetime seconds.
"""
import argparse
import hashlib
import json
import threading
import time

from serving import serve_until_parent_exits

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

lock = threading.Lock()


def digest(stream):
    sha, size = hashlib.sha256(), 0
    while True:
        chunk = stream.read(65536)
        if not chunk:
            return size, sha.hexdigest()
        sha.update(chunk)
        size += len(chunk)


def application(log):
    @Request.application
    def app(request):
        parts = request.path.strip("/").split("/")
        if len(parts) >= 2 and parts[0] == "sleep":
            time.sleep(int(parts[1]) / 1000)
        entry = {"method": request.method, "path": request.path, "query": request.query_string.decode(),
                 "headers": [[name, value] for name, value in request.headers.items()]}
        if request.mimetype == "multipart/form-data":
            entry["form"] = [[name, value] for name, value in request.form.items(multi=True)]
            entry["files"] = []
            for field, upload in request.files.items(multi=True):
                size, sha = digest(upload.stream)
                entry["files"].append({"field": field, "filename": upload.filename, "content_type": upload.mimetype,
                                       "size": size, "sha256": sha})
        else:
            entry["body_size"], entry["body_sha256"] = digest(request.stream)
        with lock:
            log.write(json.dumps(entry) + "\n")
            log.flush()
        status = int(parts[1]) if len(parts) >= 2 and parts[0] == "status" else 200
        return Response("received", status=status)
    return app


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--lifetime", type=float, default=600)
    args = parser.parse_args()
    log = open(args.log, "a", encoding="utf-8")
    server = make_server("127.0.0.1", 0, application(log), threaded=True)
    serve_until_parent_exits(server, server.server_port, args.lifetime)


if __name__ == "__main__":
    main()
