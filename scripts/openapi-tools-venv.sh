#!/usr/bin/env bash
# Creates (once) the Python venv that holds the pinned OpenAPI tools the API document is
# checked with, as automation would use them: openapi-spec-validator (is the document valid
# OpenAPI 3.1?) and openapi-python-client (does a client generate from it and work?). Prints
# the venv's bin directory on stdout. Their dependencies are pinned too
# (openapi-tools-constraints.txt), so the tests run the same tools every time.
set -euo pipefail
VALIDATOR_VERSION="0.9.0"
CLIENT_VERSION="0.29.1"
here="$(cd "$(dirname "$0")" && pwd)"
constraints="$here/openapi-tools-constraints.txt"
venv="${BEDROCK_SWEEPER_OPENAPI_VENV:-/var/tmp/bedrock-sweeper-openapi-venv}"
marker="$venv/.openapi-tools-$VALIDATOR_VERSION-$CLIENT_VERSION-$(sha256sum "$constraints" | cut -c1-12)"
if [ ! -f "$marker" ]; then
  echo "setting up openapi-spec-validator $VALIDATOR_VERSION and openapi-python-client $CLIENT_VERSION in $venv" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -c "$constraints" \
    "openapi-spec-validator==$VALIDATOR_VERSION" "openapi-python-client==$CLIENT_VERSION" >&2
  touch "$marker"
fi
echo "$venv/bin"
