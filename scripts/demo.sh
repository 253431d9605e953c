#!/usr/bin/env bash
# The demo on a fresh machine: PostgreSQL, the local AWS emulator with a seeded demo
# organization, the build, one sweep with its summary, then the service (API on
# 127.0.0.1:8080, Ctrl-C stops it). DEMO_SERVE=0 stops after the sweep.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_rust_tools
ensure_postgres
MOTO_SERVER="$(scripts/moto-venv.sh)"
PYTHON="$(dirname "$MOTO_SERVER")/python"

echo "== building bedrock-sweeper" >&2
cargo build --quiet --bin bedrock-sweeper
BIN="$CARGO_TARGET_DIR/debug/bedrock-sweeper"

PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
TZ=UTC MOTO_EC2_LOAD_DEFAULT_AMIS=false "$MOTO_SERVER" -H 127.0.0.1 -p "$PORT" >/tmp/bedrock-sweeper-demo-moto.log 2>&1 &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
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
"$PYTHON" scripts/demo_seed.py "http://127.0.0.1:$PORT"

DB=bedrock_sweeper_demo
psql "$PG_ADMIN_URL" -qc "drop database if exists $DB" >/dev/null
psql "$PG_ADMIN_URL" -qc "create database $DB" >/dev/null

# The standard AWS chain, pointed at the emulator; the sweeper's own settings via SWEEPER_*.
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_REGION=us-east-1 \
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
  TOKEN="demo-$("$PYTHON" -c 'import secrets; print(secrets.token_hex(12))')"
  export SWEEPER_API__TOKENS="operator:$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)"
  export SWEEPER_API__LISTEN="${DEMO_LISTEN:-127.0.0.1:8080}"
  echo "== serving on http://$SWEEPER_API__LISTEN (Ctrl-C to stop)" >&2
  echo "   operator token for this demo: $TOKEN" >&2
  echo "   try: curl -s -H \"Authorization: Bearer $TOKEN\" http://$SWEEPER_API__LISTEN/api/v1/posture" >&2
  "$BIN" serve &
  SERVE_PID=$!
  # Stop the service and the emulator together, whichever way the script ends.
  trap 'kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; kill "$MOTO_PID" 2>/dev/null || true' EXIT
  trap 'exit 130' INT TERM
  wait "$SERVE_PID"
fi
