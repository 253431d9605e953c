#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: PostgreSQL (installed and started if
# needed), the pinned moto emulator, schemathesis and the OpenAPI tools in their venvs,
# the deployment files' linters (cfn-lint, kubernetes-validate, hadolint) in their venv,
# the pinned sqlx-cli, formatting, lints, the query cache check, unit and integration tests,
# then the dashboard in Chromium (scripts/browser-test.sh installs what it needs).
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
DEPLOY_TOOLS="$(scripts/deploy-tools-venv.sh)"
export DEPLOY_TOOLS
SQLX_BIN="$(ensure_sqlx_cli)"

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy (warnings are errors)" >&2
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== cargo sqlx prepare --check (.sqlx/ matches the queries and migrations/)" >&2
# Against a database of its own built from migrations/: the macros are expanded online and
# their data compared with the committed .sqlx/ (SQLX_OFFLINE is off for this step only).
SQLX_DB=sweeper_sqlx_check
SQLX_DB_URL="${PG_ADMIN_URL%/*}/$SQLX_DB"
PGOPTIONS="-c client_min_messages=warning" psql "$PG_ADMIN_URL" -qc "drop database if exists $SQLX_DB" >/dev/null
psql "$PG_ADMIN_URL" -qc "create database $SQLX_DB" >/dev/null
"$SQLX_BIN/sqlx" migrate run --source migrations --database-url "$SQLX_DB_URL" >/dev/null
PATH="$SQLX_BIN:$PATH" cargo sqlx prepare --check --workspace --database-url "$SQLX_DB_URL" -- --all-targets --quiet
psql "$PG_ADMIN_URL" -qc "drop database $SQLX_DB" >/dev/null
echo "== cargo test" >&2
cargo test --workspace --no-fail-fast 2>&1 | tee /tmp/bedrock-sweeper-test.log
# Drop the per-test databases this run created.
psql "$PG_ADMIN_URL" -qtAc "select datname from pg_database where datname like 'sweeper_test_%'" 2>/dev/null |
  while read -r db; do psql "$PG_ADMIN_URL" -qc "drop database if exists \"$db\"" >/dev/null 2>&1 || true; done
echo "== the dashboard in a real browser" >&2
bash scripts/browser-test.sh
