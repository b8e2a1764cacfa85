#!/usr/bin/env bash
# Installs postcall on this host as root, the way an operator's package repository would: builds
# the Debian package (deploy/package.sh) and installs it with apt. Safe to run again to upgrade:
# the environment file is kept, the outbox is migrated, running workers are restarted.
set -euo pipefail
cd "$(dirname "$0")/.."

deb=$(bash deploy/package.sh | tail -n 1)
DEBIAN_FRONTEND=noninteractive apt-get install -y "./$deb"

cat <<MSG
Installed $deb. Next:
  systemctl enable --now postcall-worker@{1..4}    # four workers on this host
  usermod -aG postcall IVR_USER                    # let the IVR write /var/lib/postcall
  postcall health --db /var/lib/postcall/postcall.db
MSG
