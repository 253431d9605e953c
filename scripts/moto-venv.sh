#!/usr/bin/env bash
# Creates (once) the Python venv that holds the pinned AWS emulator used by the tests and
# the demo, and prints the path of its `moto_server` executable on stdout.
set -euo pipefail
MOTO_VERSION="5.2.5"
venv="${BEDROCK_SWEEPER_MOTO_VENV:-/var/tmp/bedrock-sweeper-moto-venv}"
marker="$venv/.moto-$MOTO_VERSION"
if [ ! -f "$marker" ]; then
  echo "setting up moto $MOTO_VERSION in $venv" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
  touch "$marker"
fi
echo "$venv/bin/moto_server"
