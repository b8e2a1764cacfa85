#!/usr/bin/env bash
# Try postcall on a fresh Debian machine: install the system packages, build, start a local
# receiver on 127.0.0.1, configure a webservice, insert events with plain SQL as an IVR would,
# and run a worker that delivers them. Stop the worker with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
if ! dpkg -s pkg-config libsqlite3-dev libcurl4-openssl-dev libxml2-dev sqlite3 python3 python3-pip >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        pkg-config libsqlite3-dev libcurl4-openssl-dev libxml2-dev sqlite3 python3 python3-pip >/dev/null
fi
# For the tests: Prometheus's Python text parser checks the metrics, spyne is the SOAP server.
python3 -c 'import prometheus_client, spyne, lxml' 2>/dev/null || python3 -m pip install -q prometheus-client spyne lxml 2>/dev/null \
    || python3 -m pip install -q --break-system-packages prometheus-client spyne lxml
swift build -c release --product postcall
postcall=.build/release/postcall

work=$(mktemp -d /tmp/postcall-try.XXXXXX)
export POSTCALL_DB="$work/postcall.db"
python3 Tests/Fixtures/http_recorder.py --log "$work/received.jsonl" --lifetime 3600 >"$work/port" &
receiver=$!
trap 'kill $receiver 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")

$postcall webservice set survey --method POST --url "http://127.0.0.1:$port/survey/{{call_id}}" \
    --param 'q1={{q1}}' --param 'ani={{ani}}' --header 'X-Call-Reason: {{reason}}' --timeout 5
for i in 1 2 3; do
    sqlite3 "$POSTCALL_DB" "INSERT INTO outbox (webservice, call_id, reason, variables)
        VALUES ('survey', 'call-000$i', 'hangup', '{\"q1\":\"$i\",\"ani\":\"+1555123000$i\"}');"
done

cat <<EOF2

Database:  $POSTCALL_DB
Receiver:  http://127.0.0.1:$port (requests logged to $work/received.jsonl)

Three events are waiting. The worker starts now; in another terminal try:
  export POSTCALL_DB=$POSTCALL_DB
  sqlite3 \$POSTCALL_DB "INSERT INTO outbox (webservice, call_id, variables) VALUES ('survey', 'call-42', '{\"q1\":\"4\"}');"
  $PWD/$postcall history
  $PWD/$postcall show 1
Stop the worker with Ctrl-C.

EOF2
$postcall worker --concurrency 64
$postcall history
