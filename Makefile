# The two commands from the README. The work is in .ci/ and end2end/ scripts.
.PHONY: run test tools bench

# Install what is missing, build (release), seed the demo organization, serve on :3000.
run: tools
	cargo leptos build --release
	./target/release/hitch demo
	./target/release/hitch serve

# Every test: lints and dependency policy, unit and property, integration (SQLite +
# PostgreSQL), browser (Chromium) and API fuzzing.
test:
	.ci/test-suite

tools:
	.ci/install-tools

# Throughput and latency per scenario on SQLite and PostgreSQL, as ratios to /healthz.
bench:
	.ci/bench
