#!/usr/bin/env bash
# The whole test suite, runnable on a fresh machine: installs Redis and the moto server
# (DynamoDB and S3 APIs) when missing, starts them on free loopback ports, runs every test
# (the distributed engines' suites and the HTTP suite in both modes), and stops them again.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/services.sh
source scripts/services.sh
services_install
services_start
trap services_stop EXIT

cargo test --workspace "$@"
