#!/usr/bin/env bash
# The web client's end-to-end tests (web/e2e/) in a real browser: installs Debian's chromium
# when missing (playwright-core drives it; no browser download), builds roost (which builds
# and embeds the app), starts `roost serve` on a free port with a fresh data dir, runs the
# scenarios, and stops it. Screenshots land in web/test-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

if ! command -v chromium >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq chromium >/dev/null
fi

# Arguments go to cargo (scripts/test.sh passes its features, so the binary its suites
# built is reused rather than built again without them).
cargo build -p roost "$@"
# crates/webapp's build installs web/node_modules only when it has to rebuild the app.
[ -d web/node_modules/playwright-core ] || (cd web && npm ci --no-audit --no-fund)

data_dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# Cheap password hashing and no abuse limits: the browser signs people up quickly.
export ROOST_ARGON2_MEMORY_KIB=1024 ROOST_ARGON2_ITERATIONS=1 ROOST_RATE_LIMITS=off ROOST_LOG=warn
target/debug/roost serve --listen "127.0.0.1:$port" --data-dir "$data_dir" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$data_dir"' EXIT
for _ in $(seq 200); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" || { echo "roost serve exited during startup" >&2; exit 1; }
  sleep 0.1
done

rm -rf web/test-results
export ROOST_E2E_BASE="http://127.0.0.1:$port" ROOST_E2E_DATA_DIR="$data_dir" ROOST_BIN="$PWD/target/debug/roost"
(cd web && node --test --test-concurrency=1 --test-reporter=spec e2e/)
echo "screenshots: web/test-results/"
