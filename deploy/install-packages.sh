#!/usr/bin/env bash
# Installs what building, trying and testing postcall needs on Debian: the system libraries and
# tools, and the Python packages the test fixtures use. Run by deploy/try.sh and .ci/run alike,
# every time and on every path, so the README's first command is what CI exercises.
set -euo pipefail

# binutils and lintian build and check the Debian package (deploy/package.sh, check-package.sh);
# the PostgreSQL server runs the fleet store's tests; openssl makes the TLS tests' certificates;
# chromium and its driver are the browser the console's tests drive, curl their HTTP client;
# strace slows the fsync of an IVR's insert in a test, as a busy disk would.
packages=(pkg-config libsqlite3-dev libcurl4-openssl-dev libxml2-dev libpq-dev libssl-dev postgresql sqlite3 python3 python3-pip
    systemd binutils lintian openssl curl chromium chromium-driver strace)
if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
# env carries the variable through sudo too; `$SUDO VAR=value cmd` is no assignment when $SUDO is empty.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null

# The tests check the metrics with Prometheus's own Python text parser, deliver SOAP to a spyne
# server (a SOAP framework this project did not write), compare envelopes with zeep's (the
# reference Python SOAP client), uploads with werkzeug's multipart parser, and signatures with
# standardwebhooks (the Standard Webhooks specification's own Python library), and drive the
# console in chromium with selenium. Debian's Python is externally managed (PEP 668); a pyenv or
# virtualenv Python is not.
python_packages=(prometheus-client spyne lxml werkzeug zeep standardwebhooks selenium)
if ! python3 -c 'import prometheus_client, spyne, lxml, werkzeug, zeep, standardwebhooks, selenium' 2>/dev/null; then
    python3 -m pip install -q "${python_packages[@]}" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages "${python_packages[@]}"
fi
