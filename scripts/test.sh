#!/usr/bin/env bash
# The whole test suite, runnable on a fresh machine: installs Redis and the moto server
# (DynamoDB and S3 APIs) when missing, starts them on free loopback ports, checks formatting
# and clippy, runs every test (the distributed engines' suites and the HTTP suite in both
# modes), and stops them again.
set -euo pipefail
cd "$(dirname "$0")/.."
# Incremental artifacts only pay off across edits; for one whole run they cost gigabytes.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# A failing test's message, not 30 frames of backtrace, is what the tail of a CI log must show.
export RUST_BACKTRACE=0

# Lint first: a formatting slip or a clippy warning fails in seconds, not after the suites.
cargo fmt --all --check
cargo clippy --workspace --all-targets --all-features -- -D warnings

# shellcheck source=scripts/services.sh
source scripts/services.sh
services_install
services_start
trap services_stop EXIT

# Everything (unit tests, the engine conformance suites against SQLite, the in-process cache,
# Redis and moto, and the HTTP suite on embedded engines), the suites that need the services
# included: the `services` features build them (plain `cargo test` leaves them out) ...
features=roost/services,roost-distributed/services
cargo test --workspace --features "$features" "$@"
# ... then the HTTP suite again (the same features, so nothing is rebuilt) with DynamoDB + Redis + S3 behind the same binary.
ROOST_TEST_MODE=distributed cargo test -p roost --tests --features "$features" "$@"
# The web client in a real browser (installs chromium when missing).
scripts/e2e.sh --features "$features"
