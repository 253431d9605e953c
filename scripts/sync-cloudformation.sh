#!/usr/bin/env bash
# Copies deploy/*.json into the CloudFormation templates (deploy/cloudformation/), after a
# collector's ACTIONS changed deploy/member-role-policy.json. `--check` only reports.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$("$here/deploy-tools-venv.sh")"
exec "$bin/python" "$here/sync_cloudformation.py" "$@"
