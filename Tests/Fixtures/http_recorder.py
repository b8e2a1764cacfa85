#!/usr/bin/env python3
"""A small HTTP/1.1 server for postcall's tests and benchmark, on 127.0.0.1 only.

It records every request (method, target, headers, body) as one JSON line in --log, and answers
according to the path, so a test can script the receiver's behaviour through the webservice URL:

  /status/NNN         answer with status NNN
  /sleep/MS           wait MS milliseconds, then answer 200
  /script/A,B,C       the n-th request with the same Idempotency-Key gets step n (the last repeats):
                      a status code, "reset" (RST the connection), "hang" (never answer),
                      "429" (with Retry-After: 1) or "close" (close without answering)
  /big/BYTES          a 200 whose body is BYTES long, streamed until the client stops reading
  /drip               a 200 whose body trickles one byte every 200 ms, forever
  /loop               a redirect to itself
  /redirect/NNN?to=U  answer with status NNN and Location U (percent-decoded)
  /soapfault/NNN/B    answer with status NNN and a SOAP 1.1 Client fault with a B-byte detail
  /html               answer 200 with an HTML page, as a proxy in front of a SOAP service might
  /hostile            answer 400 with markup and script in a header and the body, as a hostile
                      or compromised receiver might (for the console's escaping)
  anything else       answer 200 with a short JSON body

It prints its port on stdout once it listens, and stops by itself after --lifetime seconds.
"""
import argparse
import asyncio
import collections
import json
import os
import socket
import struct
import sys
import urllib.parse


class Recorder(asyncio.Protocol):
    log = None
    record = True
    attempts = collections.Counter()

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        self.buffer += data
        if self.buffer.startswith(b"\x16\x03"):
            # A TLS ClientHello on this plain-HTTP port: answer in plain text, as a misconfigured
            # receiver would, so the client fails its handshake at once.
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
            self.transport.close()
            return
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
        status, payload, extra = 200, b'{"ok":true}', b""
        path = target.split("?", 1)[0]
        parts = path.strip("/").split("/")
        if len(parts) >= 2 and parts[0] == "status":
            status, payload = int(parts[1]), b"scripted status"
        elif len(parts) >= 2 and parts[0] == "sleep":
            await asyncio.sleep(int(parts[1]) / 1000)
        elif len(parts) >= 2 and parts[0] == "script":
            key = dict((n.lower(), v) for n, v in headers).get("idempotency-key", "")
            Recorder.attempts[key] += 1
            steps = parts[1].split(",")
            step = steps[min(Recorder.attempts[key], len(steps)) - 1]
            if step == "reset":
                sock = self.transport.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.transport.abort()
                return
            if step == "close":
                self.transport.close()
                return
            if step == "hang":
                await asyncio.sleep(3600)
                return
            status = int(step)
            # One connection per attempt, so a client cannot replay a request on a new
            # connection after a reset and use up two steps in one attempt.
            extra = b"Connection: close\r\n"
            if status == 429:
                extra += b"Retry-After: 1\r\n"
        elif len(parts) >= 2 and parts[0] == "big":
            size = int(parts[1])
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
            chunk = b"x" * 65536
            sent = 0
            while sent < size and not self.transport.is_closing():
                piece = chunk[: min(len(chunk), size - sent)]
                self.transport.write(piece)
                sent += len(piece)
                while self.transport.get_write_buffer_size() > 1 << 20 and not self.transport.is_closing():
                    await asyncio.sleep(0.005)
            return
        elif parts[0] == "drip":
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
            while not self.transport.is_closing():
                self.transport.write(b"x")
                await asyncio.sleep(0.2)
            return
        elif parts[0] == "loop":
            status, extra = 302, b"Location: /loop\r\n"
        elif len(parts) >= 2 and parts[0] == "redirect":
            query = urllib.parse.parse_qs(target.split("?", 1)[1] if "?" in target else "")
            status, extra = int(parts[1]), b"Location: %s\r\n" % query["to"][0].encode()
        elif len(parts) >= 3 and parts[0] == "soapfault":
            status = int(parts[1])
            detail = ("at Survey.Save() in Survey.cs:line 42 " * (int(parts[2]) // 38 + 1))[: int(parts[2])]
            payload = (
                '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
                "<faultcode>s:Client</faultcode><faultstring>Invalid score</faultstring>"
                "<detail><trace>%s</trace></detail></s:Fault></s:Body></s:Envelope>" % detail
            ).encode()
        elif parts[0] == "html":
            payload = b"<html><body><h1>Maintenance</h1></body></html>"
        elif parts[0] == "hostile":
            status = 400
            extra = b"X-Hostile: <script>alert('header')</script>\r\n"
            payload = b"<img src=x onerror=\"alert('body')\"><script>alert('body')</script>"
        if self.transport.is_closing():
            return
        self.transport.write(
            b"HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s"
            % (status, len(payload), extra, payload)
        )
        if b"Connection: close" in extra:
            self.transport.close()


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
    # Stop with the test process that started us, even if it crashed.
    parent = os.getppid()
    deadline = loop.time() + args.lifetime
    while loop.time() < deadline and os.getppid() == parent:
        await asyncio.sleep(0.5)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
