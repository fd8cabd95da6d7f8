# Daily loop. The README's two set-up commands are scripts/demo.sh and scripts/test.sh.
.PHONY: build test demo bench bench-small bench-autopay bench-creatio migrate-status

build:
	swift build

test:
	./scripts/test.sh

demo:
	./scripts/demo.sh

# Release build, 100k accounts / 1M invoices / 5M lines, wrk on /healthz vs the invoice pages, PDF timing.
bench:
	python3 scripts/bench.py

# The same on a small data set, for a quick look.
bench-small:
	python3 scripts/bench.py --accounts 1000 --invoices 10000 --lines 50000 --duration 5

# Only the worker draining 10,000 due autopay charges against the sandbox gateway.
bench-autopay:
	python3 scripts/bench.py --only autopay

# A first import of 100,000 invoices with 3 lines each from the Creatio simulator over loopback HTTP.
bench-creatio:
	swift build -c release --product portal
	PORTAL_DATABASE=$${TMPDIR:-/tmp}/portal-bench-creatio.sqlite .build/release/portal bench creatio-import

migrate-status:
	swift run portal migrate --status
