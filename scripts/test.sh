#!/usr/bin/env bash
# One command for a fresh Debian machine: install what is needed, then run every test —
# Swift unit and HTTP tests (real SQLite files, real HTTP on 127.0.0.1, a real SMTP server),
# then the browser end-to-end tests (headless Chromium) against a real `portal` process.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --test

mkdir -p test-artifacts
swift build --build-tests
swift test --skip-build --parallel --num-workers 2 2>&1 | tee test-artifacts/swift-test.log
swift_status=${PIPESTATUS[0]}
if [[ $swift_status -ne 0 ]]; then
    echo "swift tests failed" >&2
    exit "$swift_status"
fi

python3 -m pytest Tests/e2e -q -p no:cacheprovider --junitxml=test-artifacts/e2e.xml
