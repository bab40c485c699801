#!/usr/bin/env bash
# Development helper: regenerate core's newest revision from the models, in place.
# Usage: scripts/regen-migration.sh REV_ID "message"   (e.g. 0002 "calls and applications")
# Only for a revision that has not been released; it rewrites the file of REV_ID.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=$1; message=$2
exec 9>/tmp/mikrogranty-migration.lock
flock 9
rm -f migrations/versions/*_"${rev}"_*.py
db=$(mktemp -d)/regen.sqlite
export DATABASE_URL="sqlite:///$db" ENABLED_PLUGINS="${ENABLED_PLUGINS-}"
.venv/bin/flask --app core db upgrade >/dev/null
.venv/bin/flask --app core db migrate --rev-id "$rev" -m "$message"
