#!/usr/bin/env bash
# Load test of the dashboard's bookings page (signed in, 50 bookings shown) with wrk.
# Usage: end2end/tools/load.sh sqlite|postgres   (after `cargo leptos build --release`)
# Prints wrk's figures and the server's peak RSS. Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/../.."
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
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fsS "$base/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

# 60 more bookings tomorrow (11:00-20:55 UTC, 10-minute steps, 5 minutes each, party
# of 1, inside the demo's 12:00-23:00 Paris hours), so the first page holds 50.
res=$(curl -fsS -H "Authorization: Bearer $key" "$base/api/v1/resources" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]; print(max(r, key=lambda x: x["capacity"])["id"])')
cli=$(curl -fsS -H "Authorization: Bearer $key" "$base/api/v1/clients?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
day=$(date -u -d tomorrow +%F)
for i in $(seq 0 59); do
  m=$((11 * 60 + i * 10)); h=$(printf %02d $((m / 60))); mm=$(printf %02d $((m % 60)))
  end=$(printf %02d $((m % 60 + 5)))
  curl -fsS -o /dev/null -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"resource_id\":\"$res\",\"client_id\":\"$cli\",\"starts_at\":\"${day}T$h:$mm:00Z\",\"ends_at\":\"${day}T$h:$end:00Z\",\"party_size\":1}" \
    "$base/api/v1/bookings" || true
done

jar="$work/cookies"
curl -fsS -c "$jar" -o /dev/null -d 'email=owner@demo.hitch.test&password=hitch-demo-2026' "$base/rpc/auth/login"
cookie=$(awk '/hitch_session/ {print $6"="$7}' "$jar")
url="$base/bookings?day=$day"
shown=$(curl -fsS -H "Cookie: $cookie" "$url" | grep -o 'href="/bookings/bk_' | wc -l)
echo "bookings page: $url ($shown bookings shown)"
rss_peak=0
( while kill -0 $pid 2>/dev/null; do ps -o rss= -p $pid; sleep 0.5; done ) >"$work/rss" &
sampler=$!
wrk -t2 -c32 -d20s --latency -H "Cookie: $cookie" "$url"
kill $sampler 2>/dev/null || true
rss_peak=$(sort -n "$work/rss" | tail -1)
echo "server peak RSS: $((rss_peak / 1024)) MB"
