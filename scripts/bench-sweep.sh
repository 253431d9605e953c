#!/usr/bin/env bash
# The sweep at scale, against the emulator's own ceiling measured in the same run.
#
# Seeds ACCOUNTS accounts (default 1,000) x REGIONS (4) into moto (3 OU levels, 36 SCPs, each
# account with a trail, endpoints, invocation logging and IAM roles; scripts/bench_sweep_seed.py),
# then:
#  1. sweeps it once (release build) through the emulator proxy, which records every request
#     it forwards; prints the wall time, peak RSS, AWS calls by service and operation
#     (Organizations beside the OU and policy counts) and PostgreSQL's active time per account;
#  2. replays the recorded requests to moto without the sweeper, at the sweep's concurrency
#     (account_concurrency x region_concurrency): the emulator's ceiling, and the sweep's
#     request rate as a fraction of it;
#  3. sweeps it again with two `serve` replicas sharing a fresh database: the speed-up, and
#     that every account was recorded once;
#  4. discovery and the organization-policy controls alone (the member role denied, so no
#     account is entered), at ACCOUNTS and at DISCOVERY_ACCOUNTS (default 10,000) accounts:
#     peak RSS at both sizes.
# Loopback only; bounded by the emulator (everything stops with the script). Does its own
# set-up: PostgreSQL, the emulator venv, the release build (about 30 minutes the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ACCOUNTS="${ACCOUNTS:-1000}"
DISCOVERY_ACCOUNTS="${DISCOVERY_ACCOUNTS:-10000}"
REGIONS="${REGIONS:-us-east-1,us-west-2,eu-west-1,eu-central-1}"
ensure_rust_tools
ensure_postgres
MOTO_SERVER="$(scripts/moto-venv.sh)"
PYTHON="$(dirname "$MOTO_SERVER")/python"
echo "== release build" >&2
cargo build --release --quiet -p bedrock-sweeper -p emulator-proxy --bins
BIN="$CARGO_TARGET_DIR/release/bedrock-sweeper"
PROXY_BIN="$CARGO_TARGET_DIR/release/emulator-proxy"
WORK="$(mktemp -d /tmp/bedrock-sweeper-bench-sweep.XXXXXX)"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_http() {
  "$PYTHON" - "$1" <<'PY'
import sys, time, urllib.request
for _ in range(600):
    try:
        urllib.request.urlopen(sys.argv[1], timeout=1)
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(f"{sys.argv[1]} did not answer")
PY
}
# Runs a command; prints its peak RSS in KiB and its wall time on stderr's last line
# ("peak_rss_kib N seconds S").
peak_rss() {
  "$PYTHON" - "$@" <<'PY'
import resource, subprocess, sys, time
started = time.monotonic()
code = subprocess.call(sys.argv[1:])
print(f"peak_rss_kib {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss} seconds {time.monotonic() - started:.1f}",
      file=sys.stderr)
sys.exit(code)
PY
}
start_proxy() { # $1: moto port, then extra flags; sets ENDPOINT and PROXY_PID
  local out="$WORK/proxy-$RANDOM"
  "$PROXY_BIN" --upstream "$1" "${@:2}" >"$out" 2>&1 &
  PROXY_PID=$!
  PIDS+=("$PROXY_PID")
  for _ in $(seq 1 100); do [ -s "$out" ] && break; sleep 0.1; done
  ENDPOINT="$(head -n 1 "$out")"
  case "$ENDPOINT" in http://127.0.0.1:*) ;; *) echo "the emulator proxy did not start: $(cat "$out")" >&2; exit 1 ;; esac
}
fresh_db() { psql "$PG_ADMIN_URL" -qc "drop database if exists $1" >/dev/null; psql "$PG_ADMIN_URL" -qc "create database $1" >/dev/null; }
pg_active_ms() { psql "$PG_ADMIN_URL" -qtAc "select coalesce(active_time, 0) from pg_stat_database where datname = '$1'"; }

MOTO_PORT="$(free_port)"
TZ=UTC MOTO_EC2_LOAD_DEFAULT_AMIS=false "$MOTO_SERVER" -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$MOTO_PORT/moto-api/data.json"
echo "== seeding $ACCOUNTS accounts x $REGIONS into the emulator" >&2
SEED_START=$(date +%s)
"$PYTHON" scripts/bench_sweep_seed.py "http://127.0.0.1:$MOTO_PORT" "$ACCOUNTS" "$REGIONS" >"$WORK/seed.json"
echo "   seeded in $(( $(date +%s) - SEED_START )) s: $(cat "$WORK/seed.json")" >&2

# The proxy answers what moto lacks (Bedrock guardrails, knowledge bases, flows, prompts, some
# AgentCore listings, API keys, trail status) as the demo does, for accounts of no special
# role: empty lists, a delivering trail. Otherwise those calls would be moto's 500s, retried
# with backoff, and the bench would measure the SDK's retry sleeps.
printf '{"good": "000000000000", "good_key": "none", "bad": "000000000001"}' >"$WORK/answers.json"
export AWS_REGION="${REGIONS%%,*}" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export SWEEPER_AWS__MANAGEMENT_ACCOUNT_ACCESS=own-credentials SWEEPER_AWS__S3_FORCE_PATH_STYLE=true \
  SWEEPER_SWEEP__REGIONS="$REGIONS" SWEEPER_CONTROLS__APPROVED_REGIONS="${REGIONS%%,*}" \
  SWEEPER_SECURITY_HUB__ENABLED=false
ACCOUNT_CONCURRENCY="${SWEEPER_SWEEP__ACCOUNT_CONCURRENCY:-8}"
REGION_CONCURRENCY="${SWEEPER_SWEEP__REGION_CONCURRENCY:-4}"

echo "== 1. one sweep, one process" >&2
fresh_db bench_sweep_one
export SWEEPER_DATABASE__URL="${PG_ADMIN_URL%/*}/bench_sweep_one"
"$BIN" migrate
start_proxy "$MOTO_PORT" --demo "$WORK/answers.json" --record "$WORK/requests.rec"
RECORDING_PROXY=$PROXY_PID
PG_BEFORE="$(pg_active_ms bench_sweep_one)"
AWS_ENDPOINT_URL="$ENDPOINT" peak_rss "$BIN" sweep --quiet --output json >"$WORK/sweep.json" 2>"$WORK/sweep.err" ||
  { cat "$WORK/sweep.err" >&2; exit 1; }
PG_AFTER="$(pg_active_ms bench_sweep_one)"
kill "$RECORDING_PROXY"; wait "$RECORDING_PROXY" 2>/dev/null || true

echo "== 2. the emulator's ceiling: the same requests without the sweeper" >&2
CONCURRENCY=$(( ACCOUNT_CONCURRENCY * REGION_CONCURRENCY ))
"$PROXY_BIN" --replay "$WORK/requests.rec" --upstream "$MOTO_PORT" --concurrency "$CONCURRENCY" >"$WORK/replay.json"

echo "== 3. the same sweep with two replicas" >&2
fresh_db bench_sweep_two
export SWEEPER_DATABASE__URL="${PG_ADMIN_URL%/*}/bench_sweep_two"
"$BIN" migrate
start_proxy "$MOTO_PORT" --demo "$WORK/answers.json"
TOKEN="bench-$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')"
export SWEEPER_API__TOKENS="operator:$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)"
export SWEEPER_API__SCHEDULE="0 0 0 1 1 *"
REPLICA_PORTS=()
SERVE_PIDS=()
for _ in 1 2; do
  port="$(free_port)"
  REPLICA_PORTS+=("$port")
  AWS_ENDPOINT_URL="$ENDPOINT" SWEEPER_API__LISTEN="127.0.0.1:$port" "$BIN" serve >"$WORK/serve-$port.log" 2>&1 &
  PIDS+=($!)
  SERVE_PIDS+=($!)
  wait_http "http://127.0.0.1:$port/healthz"
done
"$PYTHON" - "${REPLICA_PORTS[0]}" "$TOKEN" >"$WORK/replicas.json" <<'PY'
import json, sys, time, urllib.request
port, token = sys.argv[1], sys.argv[2]
def call(method, path):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1{path}", method=method,
                                 headers={"Authorization": f"Bearer {token}"})
    return json.load(urllib.request.urlopen(req, timeout=30))
sweep = call("POST", "/sweeps")["sweep_id"]
while True:
    state = call("GET", f"/sweeps/{sweep}")
    if state["status"] != "running":
        break
    time.sleep(1)
json.dump(state, sys.stdout)
PY
SWEEP_TWO="$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/replicas.json")"
ONCE="$(psql "${PG_ADMIN_URL%/*}/bench_sweep_two" -qtAc "
  select count(*) || ' tasks, ' || count(distinct account_id) || ' accounts, claimed ' || min(attempts) || '-' || max(attempts)
         || ' times each; findings with two transitions in the sweep: '
         || (select count(*) from (select finding_id from finding_events where sweep_id = '$SWEEP_TWO'
                                   group by finding_id having count(*) > 1) d)
  from sweep_tasks where sweep_id = '$SWEEP_TWO'")"
# The replica that did not start the sweep says how many accounts it recorded.
HELPED="$(sed 's/\x1b\[[0-9;]*m//g' "$WORK"/serve-*.log | grep -o 'helped with the sweep another replica drives accounts=[0-9]*' | grep -o '[0-9]*$' | paste -sd+ || true)"
ONCE="$ONCE; accounts recorded by the joining replica: ${HELPED:-0}"
for pid in "${SERVE_PIDS[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null || true; done

echo "== 4. discovery and the organization-policy controls alone" >&2
discovery_run() { # $1: moto port, $2: label
  fresh_db bench_sweep_discovery
  local db="${PG_ADMIN_URL%/*}/bench_sweep_discovery"
  SWEEPER_DATABASE__URL="$db" "$BIN" migrate
  start_proxy "$1" --demo "$WORK/answers.json" --deny-member-role
  AWS_ENDPOINT_URL="$ENDPOINT" SWEEPER_DATABASE__URL="$db" peak_rss "$BIN" sweep --quiet \
    >"$WORK/discovery-$2.out" 2>"$WORK/discovery-$2.err" || { cat "$WORK/discovery-$2.err" >&2; exit 1; }
  kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
  echo "   $2 accounts: $(tail -n 1 "$WORK/discovery-$2.err")" >&2
}
discovery_run "$MOTO_PORT" "$ACCOUNTS"
BIG_PORT="$(free_port)"
TZ=UTC MOTO_EC2_LOAD_DEFAULT_AMIS=false "$MOTO_SERVER" -H 127.0.0.1 -p "$BIG_PORT" >"$WORK/moto-big.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$BIG_PORT/moto-api/data.json"
"$PYTHON" scripts/bench_sweep_seed.py "http://127.0.0.1:$BIG_PORT" "$DISCOVERY_ACCOUNTS" "$REGIONS" --accounts-only >"$WORK/seed-big.json"
discovery_run "$BIG_PORT" "$DISCOVERY_ACCOUNTS"

echo "== figures" >&2
"$PYTHON" - "$WORK" "$PG_BEFORE" "$PG_AFTER" "$CONCURRENCY" "$ONCE" "$ACCOUNTS" "$DISCOVERY_ACCOUNTS" <<'PY'
import datetime, json, re, sys
work, pg_before, pg_after, concurrency, once = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
small, big = sys.argv[6], sys.argv[7]
seed = json.load(open(f"{work}/seed.json"))
text = open(f"{work}/sweep.json").read()
sweep = json.loads(text)
replay = json.load(open(f"{work}/replay.json"))
replicas = json.load(open(f"{work}/replicas.json"))
rss = re.findall(r"peak_rss_kib (\d+)", open(f"{work}/sweep.err").read())[-1]
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
wall = (t(sweep["finished_at"]) - t(sweep["started_at"])).total_seconds()
calls = sweep["aws_calls"]
total = sum(op["calls"] for ops in calls.values() for op in ops.values())
errors = sum(op["errors"] for ops in calls.values() for op in ops.values())
accounts = sweep["accounts"]
print(f"organization: {seed['accounts']} accounts, {seed['ous']} OUs, {seed['scps']} SCPs, regions {','.join(seed['regions'])}")
print(f"sweep (1 process): {wall:.1f} s wall, {accounts['assessed']} assessed / {accounts['not_assessed']} not assessed,"
      f" {total} AWS calls ({errors} errors), {total / wall:.0f} calls/s, peak RSS {int(rss) / 1024:.0f} MiB")
print(f"emulator ceiling (replay of the sweep's {replay['requests']} requests at concurrency {concurrency}):"
      f" {replay['seconds']:.1f} s, {replay['requests_per_second']:.0f} requests/s, statuses {replay['statuses']}")
print(f"sweep rate / ceiling: {replay['seconds'] / wall:.0%}")
org = calls.get("Organizations", {})
print(f"Organizations calls: {sum(o['calls'] for o in org.values())} for {seed['accounts']} accounts,"
      f" {seed['ous']} OUs, {seed['scps']} SCPs: " + ", ".join(f"{k} {v['calls']}" for k, v in org.items()))
print(f"PostgreSQL active time: {(pg_after - pg_before) / 1000:.1f} s, {(pg_after - pg_before) / max(1, accounts['assessed'] + accounts['not_assessed']):.1f} ms per account")
two = (t(replicas["finished_at"]) - t(replicas["started_at"])).total_seconds()
print(f"two replicas: {two:.1f} s wall (speed-up {wall / two:.2f}x); {once}")
for label in (small, big):
    rss_kib, secs = re.findall(r"peak_rss_kib (\d+) seconds ([\d.]+)", open(f"{work}/discovery-{label}.err").read())[-1]
    print(f"discovery + organization-policy controls, {label} accounts: peak RSS {int(rss_kib) / 1024:.0f} MiB, {float(secs):.1f} s")
print("AWS calls by service and operation (attempts, errors):")
for service, ops in calls.items():
    for op, c in ops.items():
        print(f"  {service:28} {op:45} {c['calls']:7} {c['errors']:6}")
PY
