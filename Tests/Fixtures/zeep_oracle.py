#!/usr/bin/env python3
"""The oracle for postcall's SOAP envelopes: zeep (the reference Python SOAP client, which this
project did not write) builds the message a correct client sends for the same WSDL, operation
and values (Client.create_message), and this compares its SOAP Header and Body with postcall's as
canonical XML: C14N 2.0 with prefixes rewritten (so ns0 and tns compare equal) and xsi:type
values read as qualified names.

  zeep_oracle.py --wsdl LOCATION --operation NAME --values JSON [--headers JSON] [--binding QNAME]
                 --ours ENVELOPE_FILE

Values are zeep's: nested objects for structures, lists for repetitions, {"__xml__": "<a/>"} for
XML that goes into an xs:any, {"_value_1": ..., "attr": ...} where zeep wants it. Exit 0 when
both match; 1 with both canonical forms printed when not.
"""
import argparse
import json
import sys
import xml.etree.ElementTree as ElementTree

from lxml import etree
from zeep import Client, Settings
from zeep.transports import Transport

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
ENVELOPES = ("http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope")


class LoopbackOnly(Transport):
    """Loads documents from files and 127.0.0.1 only: zeep would otherwise fetch well-known
    schemas (the SOAP encoding's) from the internet, which a test must never do."""

    def load(self, url):
        if "://" in url and not url.startswith("http://127.0.0.1:"):
            raise ValueError(f"the oracle does not fetch {url}")
        return super().load(url)


def convert(value):
    if isinstance(value, dict):
        if "__xml__" in value:
            return etree.fromstring(value["__xml__"])
        return {key: convert(item) for key, item in value.items()}
    if isinstance(value, list):
        return [convert(item) for item in value]
    return value


def part(envelope, name):
    for namespace in ENVELOPES:
        found = envelope.find(f"{{{namespace}}}{name}")
        if found is not None:
            return found
    return None


def canonical(element, exclude_attrs=()):
    if element is None or len(element) == 0:
        return ""
    wrapper = etree.Element("content")
    for child in element:
        wrapper.append(etree.fromstring(etree.tostring(child)))
    return ElementTree.canonicalize(
        etree.tostring(wrapper).decode(), rewrite_prefixes=True, strip_text=True, qname_aware_attrs=[XSI_TYPE],
        exclude_attrs=list(exclude_attrs))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wsdl", required=True)
    parser.add_argument("--operation", required=True)
    parser.add_argument("--values", default="{}")
    parser.add_argument("--headers", default=None)
    parser.add_argument("--binding", default=None, help="{namespace}name of the binding to use")
    parser.add_argument("--ours", required=True)
    parser.add_argument("--wsse", default=None,
                        help='a UsernameToken as JSON: {"username", "password", "digest", "nonce" (base64), "created"}')
    parser.add_argument("--ignore-encoding", action="store_true",
                        help="leave out xsi:type and encodingStyle: zeep builds rpc/encoded messages as literal ones")
    args = parser.parse_args()

    wsse = None
    if args.wsse:
        import base64
        import datetime
        from zeep.wsse.username import UsernameToken
        token = json.loads(args.wsse)
        wsse = UsernameToken(
            token["username"], token["password"], use_digest=token["digest"], nonce=base64.b64decode(token["nonce"]).decode("utf-8"),
            created=datetime.datetime.fromisoformat(token["created"].replace("Z", "+00:00")), zulu_timestamp=True)
    client = Client(args.wsdl, settings=Settings(strict=True), transport=LoopbackOnly(), wsse=wsse)
    service = client.create_service(args.binding, "http://127.0.0.1:9/") if args.binding else client.service
    options = {}
    if args.headers:
        options["_soapheaders"] = convert(json.loads(args.headers))
    theirs = client.create_message(service, args.operation, **convert(json.loads(args.values)), **options)
    ours = etree.parse(args.ours).getroot()

    failed = False
    excluded = [XSI_TYPE] + [f"{{{namespace}}}encodingStyle" for namespace in ENVELOPES] if args.ignore_encoding else []
    for name in ("Header", "Body"):
        expected, actual = canonical(part(theirs, name), excluded), canonical(part(ours, name), excluded)
        if expected != actual:
            failed = True
            print(f"{name} differs\n  zeep:     {expected}\n  postcall: {actual}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
