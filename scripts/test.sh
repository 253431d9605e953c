#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: PostgreSQL (installed and started if
# needed), the pinned moto emulator, schemathesis and the OpenAPI tools in their venvs,
# formatting, lints, unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_rust_tools
ensure_postgres
export TEST_DATABASE_URL="$PG_ADMIN_URL"
MOTO_SERVER="$(scripts/moto-venv.sh)"
export MOTO_SERVER
SCHEMATHESIS="$(scripts/schemathesis-venv.sh)"
export SCHEMATHESIS
OPENAPI_TOOLS="$(scripts/openapi-tools-venv.sh)"
export OPENAPI_TOOLS

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy (warnings are errors)" >&2
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== cargo test" >&2
cargo test --workspace --no-fail-fast 2>&1 | tee /tmp/bedrock-sweeper-test.log
# Drop the per-test databases this run created.
psql "$PG_ADMIN_URL" -qtAc "select datname from pg_database where datname like 'sweeper_test_%'" 2>/dev/null |
  while read -r db; do psql "$PG_ADMIN_URL" -qc "drop database if exists \"$db\"" >/dev/null 2>&1 || true; done
