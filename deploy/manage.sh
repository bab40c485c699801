#!/bin/sh
# Run a `flask` command of Mikrogranty with the production environment, as its user:
#   sudo -u mikrogranty /opt/mikrogranty/deploy/manage.sh db upgrade
#   sudo -u mikrogranty /opt/mikrogranty/deploy/manage.sh tenants sync
# MIKROGRANTY_ENV names another environment file (default: /etc/mikrogranty/env).
set -eu
cd "$(dirname "$0")/.."
set -a
. "${MIKROGRANTY_ENV:-/etc/mikrogranty/env}"
set +a
exec .venv/bin/flask --app core "$@"
