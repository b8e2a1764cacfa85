#!/usr/bin/env bash
# Builds the Debian package and checks it as an operator would meet it (run by .ci/run, as root):
# lintian finds no error; the binaries need nothing outside the system's library folders and run
# --help, migrate, a real delivery and the console's sign-in page with the Swift toolchain hidden; installing, upgrading
# (which migrates the outbox), removing and purging on this system leave what they should.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "check-package: $*" >&2; exit 1; }

deb=$(bash deploy/package.sh | tail -n 1)
version=$(tr -d '[:space:]' < VERSION)
echo "check-package: built $deb"

lintian --fail-on error --suppress-tags maintainer-script-calls-systemctl "$deb" 2>&1 | grep -v 'running with root' || true
lintian --fail-on error "$deb" >/dev/null 2>&1 || fail "lintian reports errors"

work=$(mktemp -d)
receiver=
cleanup() { [ -z "$receiver" ] || kill "$receiver" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
dpkg-deb -x "$deb" "$work/root"
binary="$work/root/usr/bin/postcall"

# Every library from the system's folders; no Swift runtime from a toolchain.
for program in "$binary" "$work/root/usr/bin/postcall-console"; do
    outside=$(ldd "$program" | awk '/=>/ { print $3 }' | grep -Ev '^/(usr/)?lib(64)?/' || true)
    [ -z "$outside" ] || fail "$(basename "$program") loads libraries outside the system folders: $outside"
    ldd "$program" | grep -q 'libswift' && fail "$(basename "$program") loads a Swift runtime library"
done
[ "$("$binary" --version)" = "$version" ] || fail "postcall --version does not print $version"

# With the toolchain's folder hidden under an empty tmpfs: --help, migrate, one real delivery.
toolchain=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")
python3 Tests/Fixtures/http_recorder.py --log "$work/received.jsonl" --lifetime 120 >"$work/port" &
receiver=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
unshare --mount --propagation private bash -euo pipefail -c '
    mount -t tmpfs tmpfs "$1"
    [ -z "$(ls -A "$1")" ]
    postcall=$2 db=$3/hidden.db
    "$postcall" --help >/dev/null
    "$postcall" migrate --db "$db" >/dev/null
    "$postcall" webservice set survey --db "$db" --url "http://127.0.0.1:$4/survey/{{call_id}}" --param "q1={{q1}}" >/dev/null
    "$postcall" enqueue survey --db "$db" --call-id call-1 --var q1=5 >/dev/null
    "$postcall" worker --db "$db" 2>"$3/worker.log" & worker=$!
    for _ in $(seq 100); do
        [ "$(sqlite3 "$db" "SELECT state FROM outbox WHERE id = 1")" = delivered ] && break
        sleep 0.1
    done
    kill -TERM $worker; wait $worker
    [ "$(sqlite3 "$db" "SELECT state FROM outbox WHERE id = 1")" = delivered ] || { cat "$3/worker.log"; exit 1; }
    # The console, run by postcall from beside it: its sign-in page answers.
    "$postcall" console --db "$db" --listen 127.0.0.1:0 2>"$3/console.log" & console=$!
    for _ in $(seq 100); do grep -q "console listening" "$3/console.log" && break; sleep 0.1; done
    url=$(sed -n "s/.*url=\(http[^ ]*\).*/\1/p" "$3/console.log")
    curl -sf "${url}login" | grep -q "Sign in" || { cat "$3/console.log"; exit 1; }
    kill -TERM $console; wait $console
' check "$toolchain" "$binary" "$work" "$(cat "$work/port")" || fail "the packaged binary did not deliver with $toolchain hidden"
grep -q '"target": "/survey/call-1' "$work/received.jsonl" || fail "the receiver did not get the event"
echo "check-package: delivered with $toolchain hidden; libraries: $(ldd "$binary" | awk '/=>/ { print $1 }' | paste -sd' ')"

# Install, upgrade, remove and purge on this system. A previous check's leftovers are cleared;
# anything else already installed is left alone.
marker=/var/lib/postcall/.package-check
if dpkg -s postcall >/dev/null 2>&1 || [ -e /var/lib/postcall ]; then
    [ -e "$marker" ] || fail "postcall is installed here, or /var/lib/postcall exists, and not from a previous check; not touching it"
    apt-get purge -y -qq postcall >/dev/null 2>&1 || true
    rm -rf /var/lib/postcall
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./$deb" >/dev/null
touch "$marker"
for path in /usr/bin/postcall /usr/bin/postcall-console /lib/systemd/system/postcall-worker@.service \
    /lib/systemd/system/postcall-console.service /etc/postcall/postcall.env \
    /usr/share/postcall/schema/0001_initial.sql /usr/share/man/man1/postcall.1.gz /usr/share/man/man1/postcall-console.1.gz /usr/share/doc/postcall/copyright \
    /usr/share/bash-completion/completions/postcall /usr/share/zsh/vendor-completions/_postcall \
    /usr/share/fish/vendor_completions.d/postcall.fish; do
    [ -e "$path" ] || fail "installing did not leave $path"
done
getent passwd postcall >/dev/null || fail "no postcall user"
[ "$(stat -c '%a %U %G' /var/lib/postcall)" = "2770 postcall postcall" ] || fail "/var/lib/postcall is $(stat -c '%a %U %G' /var/lib/postcall)"
[ "$(/usr/bin/postcall --version)" = "$version" ] || fail "the installed postcall is not $version"

# An outbox at schema 6 and a local edit of the environment file, then an upgrade.
db=$(sed -n 's/^POSTCALL_DB=//p' /etc/postcall/postcall.env | tail -n 1)
for schema in /usr/share/postcall/schema/000[1-6]_*.sql; do runuser -u postcall -- sqlite3 "$db" < "$schema"; done
runuser -u postcall -- sqlite3 "$db" "PRAGMA journal_mode = WAL; PRAGMA user_version = 6;" >/dev/null
echo "POSTCALL_CONCURRENCY=32  # a local edit" >> /etc/postcall/postcall.env
dpkg-deb -R "$deb" "$work/upgrade"
sed -i "s/^Version: .*/Version: ${version}+check1/" "$work/upgrade/DEBIAN/control"
dpkg-deb --root-owner-group --build "$work/upgrade" "$work/postcall_upgrade.deb" >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$work/postcall_upgrade.deb" >/dev/null
[ "$(dpkg-query -W -f='${Version}' postcall)" = "${version}+check1" ] || fail "the upgrade did not install"
[ "$(sqlite3 "$db" 'PRAGMA user_version')" -ge 10 ] || fail "the upgrade did not migrate $db"
[ "$(sqlite3 "$db-attempts" 'PRAGMA user_version')" -ge 1 ] || fail "the upgrade did not create the attempt log $db-attempts"
[ "$(stat -c '%U %G' "$db-attempts")" = "postcall postcall" ] || fail "$db-attempts is owned by $(stat -c '%U %G' "$db-attempts")"
grep -q "a local edit" /etc/postcall/postcall.env || fail "the upgrade replaced the edited conffile"

DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq postcall >/dev/null
[ ! -e /usr/bin/postcall ] && [ ! -e /usr/bin/postcall-console ] || fail "remove left a binary"
[ -f "$db" ] && [ -f /etc/postcall/postcall.env ] || fail "remove deleted data or configuration"
getent passwd postcall >/dev/null || fail "remove deleted the user"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq postcall >/dev/null 2>&1
! getent passwd postcall >/dev/null || fail "purge left the postcall user"
! getent group postcall >/dev/null || fail "purge left the postcall group"
[ ! -e /etc/postcall/postcall.env ] || fail "purge left the conffile"
[ -f "$db" ] || fail "purge deleted the outbox"
rm -rf /var/lib/postcall
echo "check-package: $deb installs, upgrades (migrating the outbox, keeping the edited conffile), removes and purges as it should"
