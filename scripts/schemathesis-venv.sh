#!/usr/bin/env bash
# Creates (once) the Python venv that holds the pinned schemathesis used by the API's schema
# test, and prints the path of its `schemathesis` executable on stdout. Its dependencies are
# pinned too (schemathesis-constraints.txt), so the test runs the same tool every time.
set -euo pipefail
SCHEMATHESIS_VERSION="4.32.5"
here="$(cd "$(dirname "$0")" && pwd)"
constraints="$here/schemathesis-constraints.txt"
venv="${BEDROCK_SWEEPER_SCHEMATHESIS_VENV:-/var/tmp/bedrock-sweeper-schemathesis-venv}"
marker="$venv/.schemathesis-$SCHEMATHESIS_VERSION-$(sha256sum "$constraints" | cut -c1-12)"
if [ ! -f "$marker" ]; then
  echo "setting up schemathesis $SCHEMATHESIS_VERSION in $venv" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -c "$constraints" "schemathesis==$SCHEMATHESIS_VERSION" >&2
  touch "$marker"
fi
echo "$venv/bin/schemathesis"
