# Sourced by the load scripts: starts the release `hitch` on a free port with a fresh
# database (SQLite, or PostgreSQL's `hitch_load`) and demo data, and stops it on exit.
# Sets: backend, work, base, key (a REST API key), pid.
# Usage inside a script: source "$(dirname "$0")/serve-release.sh" sqlite|postgres [pg-url]
backend=${1:-sqlite}
bin=./target/release/hitch
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ "$backend" = postgres ]; then
  admin=${2:-postgres://postgres@127.0.0.1:5432/test}
  psql -q "$admin" -c 'DROP DATABASE IF EXISTS hitch_load' -c 'CREATE DATABASE hitch_load'
  export HITCH_DATABASE_URL="${admin%/*}/hitch_load" HITCH_DATABASE_MAX_CONNECTIONS=16
else
  export HITCH_DATABASE_URL="sqlite://$work/hitch.db?mode=rwc"
fi
export HITCH_LISTEN="127.0.0.1:$port" HITCH_PUBLIC_URL="http://127.0.0.1:$port" RUST_LOG=warn HITCH_API_RATE_PER_SECOND=1000
export HITCH_MASTER_KEY_FILE="$work/master.key"
base="http://127.0.0.1:$port"
$bin demo >/dev/null
key=$($bin create-api-key --org demo-bistro --name load | sed -n 2p)
$bin serve >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fsS "$base/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
