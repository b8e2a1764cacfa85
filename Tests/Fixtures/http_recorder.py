#!/usr/bin/env python3
"""A small HTTP/1.1 server for postcall's tests and benchmark, on 127.0.0.1 only.

It records every request (method, target, headers, body) as one JSON line in --log, and answers
according to the path, so a test can script the receiver's behaviour through the webservice URL:

  /status/NNN         answer with status NNN
  /sleep/MS           wait MS milliseconds, then answer 200
  anything else       answer 200 with a short JSON body

It prints its port on stdout once it listens, and stops by itself after --lifetime seconds.
"""
import argparse
import asyncio
import json
import sys


class Recorder(asyncio.Protocol):
    log = None
    record = True

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            lines = head.split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = []
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers.append([name, value.strip()])
            length = 0
            for name, value in headers:
                if name.lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < head_end + 4 + length:
                return
            body = self.buffer[head_end + 4 : head_end + 4 + length]
            self.buffer = self.buffer[head_end + 4 + length :]
            asyncio.get_running_loop().create_task(self.respond(method, target, headers, body))

    async def respond(self, method, target, headers, body):
        if Recorder.record:
            Recorder.log.write(
                json.dumps(
                    {
                        "method": method,
                        "target": target,
                        "headers": headers,
                        "body": body.decode("utf-8", "surrogateescape").encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
                    }
                )
                + "\n"
            )
            Recorder.log.flush()
        status, payload = 200, b'{"ok":true}'
        path = target.split("?", 1)[0]
        parts = path.strip("/").split("/")
        if len(parts) >= 2 and parts[0] == "status":
            status, payload = int(parts[1]), b"scripted status"
        elif len(parts) >= 2 and parts[0] == "sleep":
            await asyncio.sleep(int(parts[1]) / 1000)
        if self.transport.is_closing():
            return
        self.transport.write(
            b"HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
            % (status, len(payload), payload)
        )


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--lifetime", type=float, default=600)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    Recorder.log = open(args.log, "a", encoding="utf-8")
    Recorder.record = not args.no_record
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Recorder, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.sleep(args.lifetime)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
