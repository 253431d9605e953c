# Shared set-up for scripts/test.sh and scripts/demo.sh. Source it; it defines functions only.

# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 and exports PG_ADMIN_URL, a URL
# that can create databases. Installs and starts Debian's PostgreSQL when none is there.
ensure_postgres() {
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
      echo "PostgreSQL not found: installing it (Debian packages)" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
    fi
    echo "starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start >&2
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL does not answer on 127.0.0.1:5432" >&2; return 1; }
  PG_ADMIN_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  if ! psql "$PG_ADMIN_URL" -qtAc 'select 1' >/dev/null 2>&1; then
    # A fresh Debian install wants a password over TCP: give the local superuser one.
    su postgres -c "psql -qc \"alter user postgres password 'postgres'\"" >&2
    PG_ADMIN_URL="postgres://postgres:postgres@127.0.0.1:5432/postgres"
    psql "$PG_ADMIN_URL" -qtAc 'select 1' >/dev/null || { echo "cannot log in to PostgreSQL as postgres" >&2; return 1; }
  fi
  export PG_ADMIN_URL
}

# One target directory outside the repository, shared by tests, demo and CI, so builds stay warm.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/bedrock-sweeper-target}"
# The query macros check the SQL against the committed `.sqlx/`, never against a database:
# building needs none (`ensure_sqlx_cli` and test.sh's prepare check keep `.sqlx/` honest).
export SQLX_OFFLINE=true

ensure_rust_tools() {
  command -v cargo >/dev/null || { echo "cargo is required (rustup)" >&2; return 1; }
  rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt >&2
}

# sqlx-cli, pinned, for `cargo sqlx prepare` (which writes `.sqlx/`) and its `--check`.
# Installed once into its own directory (override with BEDROCK_SWEEPER_SQLX_CLI), built in a
# temporary target directory; echoes the directory holding `sqlx` and `cargo-sqlx`.
SQLX_CLI_VERSION=0.9.0
ensure_sqlx_cli() {
  local root="${BEDROCK_SWEEPER_SQLX_CLI:-/var/tmp/bedrock-sweeper-sqlx-cli}"
  if [ "$("$root/bin/sqlx" --version 2>/dev/null)" != "sqlx-cli $SQLX_CLI_VERSION" ] || [ ! -x "$root/bin/cargo-sqlx" ]; then
    echo "installing sqlx-cli $SQLX_CLI_VERSION into $root (about 2 minutes on 2 cores, once)" >&2
    env -u CARGO_TARGET_DIR cargo install sqlx-cli --version "$SQLX_CLI_VERSION" --locked \
      --no-default-features --features postgres,rustls --root "$root" >&2
  fi
  echo "$root/bin"
}
