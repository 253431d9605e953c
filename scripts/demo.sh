#!/usr/bin/env bash
# The demo on a fresh machine: PostgreSQL, the local AWS emulator with a seeded demo
# organization behind the emulator proxy (it answers the APIs moto lacks, as the tests'
# proxy does), the build, one sweep with its summary, then the service: the dashboard and
# API on 127.0.0.1:8080 (DEMO_LISTEN), signed in with a token made for this run and printed
# at the end. Ctrl-C stops it. DEMO_SERVE=0 stops after the sweep.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_rust_tools
ensure_postgres
MOTO_SERVER="$(scripts/moto-venv.sh)"
PYTHON="$(dirname "$MOTO_SERVER")/python"

echo "== building bedrock-sweeper" >&2
cargo build --quiet -p bedrock-sweeper -p emulator-proxy --bins
BIN="$CARGO_TARGET_DIR/debug/bedrock-sweeper"
PROXY_BIN="$CARGO_TARGET_DIR/debug/emulator-proxy"

PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
TZ=UTC MOTO_EC2_LOAD_DEFAULT_AMIS=false "$MOTO_SERVER" -H 127.0.0.1 -p "$PORT" >/tmp/bedrock-sweeper-demo-moto.log 2>&1 &
MOTO_PID=$!
PROXY_PID=""
trap 'kill $PROXY_PID "$MOTO_PID" 2>/dev/null || true' EXIT
# Wait until the emulator answers (python from its venv: no curl needed).
"$PYTHON" - "$PORT" <<'PY'
import sys, time, urllib.request
for _ in range(200):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/data.json", timeout=1)
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("the AWS emulator did not start")
PY

echo "== seeding a demo organization in the emulator on 127.0.0.1:$PORT" >&2
SEEDED="$(mktemp /tmp/bedrock-sweeper-demo-org.XXXXXX.json)"
"$PYTHON" scripts/demo_seed.py "http://127.0.0.1:$PORT" "$SEEDED"

# The proxy prints its endpoint, then answers what moto lacks and forwards the rest.
PROXY_OUT="$(mktemp /tmp/bedrock-sweeper-demo-proxy.XXXXXX)"
"$PROXY_BIN" --upstream "$PORT" --demo "$SEEDED" >"$PROXY_OUT" 2>&1 &
PROXY_PID=$!
for _ in $(seq 1 100); do [ -s "$PROXY_OUT" ] && break; sleep 0.1; done
ENDPOINT="$(head -n 1 "$PROXY_OUT")"
case "$ENDPOINT" in http://127.0.0.1:*) ;; *) echo "the emulator proxy did not start: $(cat "$PROXY_OUT")" >&2; exit 1 ;; esac
echo "== emulator proxy on $ENDPOINT (answers moto lacks: see the README's coverage table)" >&2

DB=bedrock_sweeper_demo
psql "$PG_ADMIN_URL" -qc "drop database if exists $DB" >/dev/null
psql "$PG_ADMIN_URL" -qc "create database $DB" >/dev/null

# The standard AWS chain, pointed at the emulator; the sweeper's own settings via SWEEPER_*.
export AWS_ENDPOINT_URL="$ENDPOINT" AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export SWEEPER_DATABASE__URL="${PG_ADMIN_URL%/*}/$DB" \
  SWEEPER_AWS__MANAGEMENT_ACCOUNT_ACCESS=own-credentials \
  SWEEPER_AWS__S3_FORCE_PATH_STYLE=true \
  SWEEPER_AWS__MAX_ATTEMPTS=2 \
  SWEEPER_SWEEP__REGIONS=us-east-1,eu-west-1 \
  SWEEPER_CONTROLS__APPROVED_REGIONS=us-east-1

echo "== sweeping" >&2
"$BIN" sweep "$@"

if [ "${DEMO_SERVE:-1}" != "0" ]; then
  # A token made for this run only: its hash is all the service is given.
  TOKEN="demo-$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')"
  export SWEEPER_API__TOKENS="operator:$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)"
  export SWEEPER_API__LISTEN="${DEMO_LISTEN:-127.0.0.1:8080}"
  "$BIN" serve &
  SERVE_PID=$!
  # Stop the service, the proxy and the emulator together, whichever way the script ends.
  trap 'kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; kill $PROXY_PID "$MOTO_PID" 2>/dev/null || true' EXIT
  trap 'exit 130' INT TERM
  for _ in $(seq 1 100); do
    "$PYTHON" -c "import urllib.request,sys; urllib.request.urlopen('http://$SWEEPER_API__LISTEN/healthz', timeout=1)" 2>/dev/null && break
    kill -0 "$SERVE_PID" 2>/dev/null || { echo "the service stopped; see above" >&2; exit 1; }
    sleep 0.2
  done
  echo "== the demo organization is swept and served (Ctrl-C to stop)" >&2
  echo "   dashboard: http://$SWEEPER_API__LISTEN/" >&2
  echo "   sign in with this run's operator token: $TOKEN" >&2
  echo "   API: curl -s -H \"Authorization: Bearer $TOKEN\" http://$SWEEPER_API__LISTEN/api/v1/posture" >&2
  wait "$SERVE_PID"
fi
