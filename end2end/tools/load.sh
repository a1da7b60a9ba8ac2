#!/usr/bin/env bash
# Load test of the dashboard's bookings page (signed in, 50 bookings shown) with wrk.
# Usage: end2end/tools/load.sh sqlite|postgres   (after `cargo leptos build --release`)
# Prints wrk's figures and the server's peak RSS. Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/../.."
source end2end/tools/serve-release.sh "$@"

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
# 8 connections keep both cores busy; 32 show how the queue grows past that.
for c in 8 32; do
  echo "-- $c connections"
  wrk -t1 -c$c -d15s --latency -H "Cookie: $cookie" "$url"
done
kill $sampler 2>/dev/null || true
rss_peak=$(sort -n "$work/rss" | tail -1)
echo "server peak RSS: $((rss_peak / 1024)) MB"
