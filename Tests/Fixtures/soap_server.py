#!/usr/bin/env python3
"""A real SOAP server for postcall's tests, built with spyne (not written by this project), on
127.0.0.1. /soap11 speaks SOAP 1.1, /soap12 SOAP 1.2; each serves its WSDL at ?wsdl.

SubmitSurvey records the parameters it received, as spyne decoded them, as one JSON line in --log.
FailClient answers with a Client (1.1) / Sender (1.2) fault, FailServer with a Server / Receiver
fault. Prints its port once it listens; stops when its parent does or after --lifetime seconds.
"""
import argparse
import json
import os
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

from spyne import Application, Fault, Integer, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11, Soap12
from spyne.server.wsgi import WsgiApplication

LOG = None


class Survey(ServiceBase):
    @rpc(Unicode(min_occurs=1), Unicode, Integer, _returns=Unicode)
    def SubmitSurvey(ctx, callId, answer, score):
        with open(LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps({"callId": callId, "answer": answer, "score": score,
                                  "soapAction": ctx.transport.req_env.get("HTTP_SOAPACTION"),
                                  "contentType": ctx.transport.req_env.get("CONTENT_TYPE")}) + "\n")
        return "ok"

    @rpc(Unicode, _returns=Unicode)
    def FailClient(ctx, callId):
        raise Fault(faultcode="Client.BadAnswer", faultstring="answer out of range")

    @rpc(Unicode, _returns=Unicode)
    def FailServer(ctx, callId):
        raise Fault(faultcode="Server.Database", faultstring="database down")


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def application():
    soap11 = WsgiApplication(Application([Survey], "urn:postcall:survey", in_protocol=Soap11(validator="lxml"),
                                         out_protocol=Soap11()))
    soap12 = WsgiApplication(Application([Survey], "urn:postcall:survey", in_protocol=Soap12(validator="lxml"),
                                         out_protocol=Soap12()))

    def route(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/soap12"):
            return soap12(environ, start_response)
        if path.startswith("/soap11"):
            return soap11(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return route


def main():
    global LOG
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--lifetime", type=float, default=600)
    args = parser.parse_args()
    LOG = args.log
    server = make_server("127.0.0.1", 0, application(), handler_class=Quiet)
    print(server.server_port, flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    parent = os.getppid()
    deadline = time.monotonic() + args.lifetime
    while time.monotonic() < deadline and os.getppid() == parent:
        time.sleep(0.5)


if __name__ == "__main__":
    main()
