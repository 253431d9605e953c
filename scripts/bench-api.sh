#!/usr/bin/env bash
# The API load benchmark (benches/api_load.rs): generates (once) 10,000 accounts x 25
# findings x 4 regions with a year of daily sweeps in PostgreSQL, then runs wrk against
# /posture and the findings listing on loopback and prints latency percentiles and
# throughput. Does its own set-up: PostgreSQL, wrk (Debian package), the release build.
# DURATION (seconds per run, default 20), CONNECTIONS (default 100), BENCH_REGENERATE=1.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_postgres
export TEST_DATABASE_URL="$PG_ADMIN_URL"
if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq wrk >&2 || { apt-get update -qq >&2 && apt-get install -y -qq wrk >&2; }
fi
exec cargo bench --bench api_load
