#!/usr/bin/env bash
# CloudTrail digest-chain verification benchmark (benches/digest_verify.rs): 24 hours x 4
# regions of a busy trail (2,016 log files of 1 MiB) in the emulator's S3, verified as a
# sweep does, beside sha256sum on the same files and the emulator's own GET ceiling, all in
# this run. Release build. FILES_PER_HOUR, FILE_KIB and HOURS change the size.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

MOTO_SERVER="$(scripts/moto-venv.sh)"
export MOTO_SERVER
exec cargo bench --bench digest_verify
