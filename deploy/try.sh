#!/usr/bin/env bash
# Try postcall on a fresh Debian machine: install the system packages, build, start a local
# receiver on 127.0.0.1, configure a webservice, insert events with plain SQL as an IVR would,
# and run a worker that delivers them. Stop the worker with Ctrl-C.
#
#   bash deploy/try.sh                    # interactive: the worker runs until Ctrl-C
#   bash deploy/try.sh --non-interactive  # delivers the sample events, prints the history, exits
#                                         # (0 once all three were delivered); CI runs this
set -euo pipefail
cd "$(dirname "$0")/.."

interactive=true
case "${1:-}" in
    --non-interactive) interactive=false ;;
    "") ;;
    *) echo "usage: bash deploy/try.sh [--non-interactive]" >&2; exit 2 ;;
esac

bash deploy/install-packages.sh
swift build -c release --product postcall
postcall=.build/release/postcall

work=$(mktemp -d /tmp/postcall-try.XXXXXX)
export POSTCALL_DB="$work/postcall.db"
python3 Tests/Fixtures/http_recorder.py --log "$work/received.jsonl" --lifetime 3600 >"$work/port" &
receiver=$!
worker=
cleanup() {
    [ -z "$worker" ] || kill "$worker" 2>/dev/null || true
    kill "$receiver" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")

$postcall webservice set survey --method POST --url "http://127.0.0.1:$port/survey/{{call_id}}" \
    --param 'q1={{q1}}' --param 'ani={{ani}}' --header 'X-Call-Reason: {{reason}}' --timeout 5
for i in 1 2 3; do
    sqlite3 "$POSTCALL_DB" "INSERT INTO outbox (webservice, call_id, reason, variables)
        VALUES ('survey', 'call-000$i', 'hangup', '{\"q1\":\"$i\",\"ani\":\"+1555123000$i\"}');"
done

if ! $interactive; then
    $postcall worker --concurrency 64 2>"$work/worker.log" &
    worker=$!
    for _ in $(seq 600); do
        delivered=$(sqlite3 "$POSTCALL_DB" "SELECT count(*) FROM outbox WHERE state = 'delivered'")
        [ "$delivered" = 3 ] && break
        sleep 0.1
    done
    kill -TERM "$worker"
    wait "$worker" || { cat "$work/worker.log" >&2; exit 1; }
    worker=
    $postcall history
    $postcall show 1
    if [ "$delivered" != 3 ]; then
        echo "try: only $delivered of 3 events were delivered; the worker's log:" >&2
        cat "$work/worker.log" >&2
        exit 1
    fi
    echo "try: 3 of 3 events delivered to the receiver on 127.0.0.1:$port ($(wc -l <"$work/received.jsonl") requests received)"
    exit 0
fi

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
$postcall worker --concurrency 64 || true
$postcall history
