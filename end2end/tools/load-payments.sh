#!/usr/bin/env bash
# Load tests of the guest portal page and of Stripe's inbound webhook, with wrk.
# Usage: end2end/tools/load-payments.sh [sqlite|postgres]  (after `cargo leptos build --release`)
# Needs wrk (apt-get install wrk). Prints wrk's figures and what the portal downloads.
set -euo pipefail
cd "$(dirname "$0")/../.."
source end2end/tools/serve-release.sh "$@"

# A booking three days ahead and its guest link.
auth=(-H "Authorization: Bearer $key" -H 'Content-Type: application/json')
res=$(curl -fsS "${auth[@]}" "$base/api/v1/resources" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]; print(max(r, key=lambda x: x["capacity"])["id"])')
cli=$(curl -fsS "${auth[@]}" "$base/api/v1/clients?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
day=$(date -u -d '+3 days' +%F)
bk=$(curl -fsS "${auth[@]}" -d "{\"resource_id\":\"$res\",\"client_id\":\"$cli\",\"starts_at\":\"${day}T18:00:00Z\",\"ends_at\":\"${day}T20:00:00Z\",\"party_size\":2}" "$base/api/v1/bookings" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
url=$(curl -fsS "${auth[@]}" -X POST "$base/api/v1/bookings/$bk/guest-link" | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
echo "== guest portal page: $url"
html=$(curl -fsS "$url" | wc -c)
echo "HTML without JavaScript: $html bytes (uncompressed); with it, the page also loads:"
for f in pkg/hitch.js pkg/hitch.wasm pkg/hitch.css; do
  printf '  %-16s %8s bytes gzip\n' "$f" "$(curl -fsS -H 'Accept-Encoding: gzip' "$base/$f" | wc -c)"
done
for c in 8 32; do
  echo "-- $c connections"
  wrk -t1 -c$c -d15s --latency "$url"
done

# Stripe: the webhook secret in the vault, then signed events with unique ids.
secret=whsec_load_test_secret
jar="$work/cookies"
curl -fsS -c "$jar" -o /dev/null -d 'email=owner@demo.hitch.test&password=hitch-demo-2026' "$base/rpc/auth/login"
curl -fsS -b "$jar" -o /dev/null -d "input[secret_key]=sk_test_load_key_123456789&input[webhook_secret]=$secret" "$base/rpc/payments/stripe/save" || true
# One line per event: signature TAB body, all with unique ids and a fresh timestamp.
python3 - "$secret" >"$work/events.tsv" <<'PY'
import hashlib, hmac, json, sys, time
secret, t = sys.argv[1], int(time.time())
for i in range(400000):  # more than the three runs send: every event is new
    body = json.dumps({"id": f"evt_load_{i}", "object": "event", "type": "customer.created", "created": t,
                       "livemode": False, "data": {"object": {"id": f"cus_{i}"}}}, separators=(",", ":"))
    sig = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    print(f"t={t},v1={sig}\t{body}")
PY
# Each run starts at its own offset (the script's argument) into the events, so no run
# resends an event an earlier run stored: a duplicate costs the server less.
cat >"$work/events.lua" <<LUA
local sigs, bodies, n = {}, {}, 0
for line in io.lines("$work/events.tsv") do
  local sig, body = line:match("^(.-)\t(.*)$")
  sigs[#sigs + 1] = sig; bodies[#bodies + 1] = body
end
function init(args) n = tonumber(args[1] or "0") end
function request()
  n = n % #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Stripe-Signature"] = sigs[n]}, bodies[n])
end
LUA
# Paced first, while no backlog of event jobs competes for the CPU: each connection
# pauses 6 ms after every answer, so 25 of them offer about 3,000 events/s,
# rather than as many as the server can take (where the p99 is mostly time spent
# queueing for the CPU).
sed 's/^function request()/function delay() return 6 end\nfunction request()/' "$work/events.lua" >"$work/paced.lua"
hook="$base/webhooks/stripe/demo-bistro"
echo "== Stripe webhook: $hook (verify, store once, enqueue a job, 200)"
echo "-- 25 connections, paced to about 3,000 events/s"
wrk -t1 -c25 -d15s --latency -s "$work/paced.lua" "$hook" -- 0
# One wrk thread: one Lua state, so every request carries a different event.
offset=60000
for c in 8 16; do
  echo "-- $c connections, as fast as answered"
  wrk -t1 -c$c -d15s --latency -s "$work/events.lua" "$hook" -- $offset
  offset=$((offset + 160000))
done
if [ "$backend" = sqlite ]; then
  python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print('events stored:', c.execute('select count(*) from stripe_events').fetchone()[0], '/ processed:', c.execute('select count(*) from stripe_events where processed_at is not null').fetchone()[0], '/ processing jobs:', c.execute(\"select count(*) from jobs where kind='stripe.events'\").fetchone()[0])" "$work/hitch.db"
fi
