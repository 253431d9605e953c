#!/usr/bin/env bash
# The dashboard in a real browser, on a fresh machine too: Debian's Chromium and fonts
# (installed when missing), npm playwright-core at the version package-lock.json pins (no
# browser download), the build, then `node --test` against the demo (scripts/demo.sh: the
# real binary, the emulator behind its proxy, one real sweep) on a free loopback port.
# Screenshots of every page: tests/browser/output/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

if [ ! -x /usr/bin/chromium ] || ! dpkg -s fonts-dejavu-core fonts-liberation >/dev/null 2>&1; then
  echo "installing Debian's chromium and fonts" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq chromium fonts-dejavu-core fonts-liberation >&2
fi
command -v node >/dev/null || { echo "node is required (Node.js 20 or later)" >&2; exit 1; }
(cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2)

ensure_rust_tools
echo "== building bedrock-sweeper and the emulator proxy" >&2
cargo build --quiet -p bedrock-sweeper -p emulator-proxy --bins

echo "== browser suite (Chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'))" >&2
start=$(date +%s)
node --test --test-concurrency=1 tests/browser/dashboard.test.mjs
echo "== browser suite took $(( $(date +%s) - start )) s; screenshots in tests/browser/output/" >&2
