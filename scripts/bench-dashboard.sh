#!/usr/bin/env bash
# Dashboard page timings (benches/dashboard_pages.rs) on the API benchmark's generated
# database: 10,000 accounts, 1,000,000 findings, a year of daily sweeps (generated once,
# then reused; BENCH_REGENERATE=1 rebuilds it). Prints each page's median and slowest
# server time, beside the API's JSON for the same data. RUNS per page (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_postgres
export TEST_DATABASE_URL="$PG_ADMIN_URL"
exec cargo bench --bench dashboard_pages
