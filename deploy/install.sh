#!/usr/bin/env bash
# Installs postcall on this host as root: the binary, a `postcall` system user and group, the
# database directory, the environment file and the systemd template unit. Safe to run again to
# upgrade: the environment file is kept, the schema is migrated, running workers are restarted.
set -euo pipefail
cd "$(dirname "$0")/.."

swift build -c release --product postcall
install -m 0755 .build/release/postcall /usr/local/bin/postcall

id postcall >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/postcall --shell /usr/sbin/nologin postcall
# setgid: files SQLite creates here (-wal, -shm) belong to group postcall, which the IVR joins.
install -d -m 2770 -o postcall -g postcall /var/lib/postcall
install -d -m 0755 /etc/postcall
[ -f /etc/postcall/postcall.env ] || install -m 0640 -g postcall deploy/postcall.env /etc/postcall/postcall.env
install -m 0644 deploy/postcall-worker@.service /etc/systemd/system/postcall-worker@.service

set -a; . /etc/postcall/postcall.env; set +a
runuser -u postcall -- /usr/local/bin/postcall migrate --db "$POSTCALL_DB"
systemctl daemon-reload
systemctl try-restart 'postcall-worker@*.service'

cat <<MSG
Installed. Next:
  systemctl enable --now postcall-worker@{1..4}    # four workers on this host
  usermod -aG postcall IVR_USER                    # let the IVR write $POSTCALL_DB
  postcall health --db $POSTCALL_DB
MSG
