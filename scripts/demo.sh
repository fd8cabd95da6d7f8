#!/usr/bin/env bash
# One command for a fresh Debian machine: install what is needed, build, seed the demo and serve it.
# Extra arguments go to `portal demo` (e.g. --bind 127.0.0.1:9090).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
swift build --product portal
exec ./.build/debug/portal demo "$@"
