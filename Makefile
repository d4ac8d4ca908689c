# Channelgraph. `make run` serves the demo on SQLite; `make test` runs every test.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run build test fuzz generate check-generated lint random bench bench-placing bench-push bench-webhooks soak clean

## run: build bin/channelgraph and serve on 127.0.0.1:8080 with SQLite under ./data and demo data
## (says so before building: the first build downloads modules; later ones are quick)
run:
	@echo "building channelgraph (the first build downloads modules and takes a minute or two)…"
	@$(GO) build -ldflags "$(LDFLAGS)" -o bin/channelgraph ./cmd/channelgraph
	CHANNELGRAPH_DEMO=1 CHANNELGRAPH_WEBHOOK_ALLOW_PRIVATE=1 ./bin/channelgraph serve

## build: the binary, with its version stamped, in bin/
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/channelgraph ./cmd/channelgraph

## test: every test, with the race detector, on SQLite and on a real PostgreSQL; then the
## randomized visibility test at 500 graphs per database without it (under -race it runs 50)
test:
	$(GO) test -race -count=1 -timeout 30m ./...
	$(GO) test -count=1 -timeout 30m -run TestVisibilityMatchesModel ./internal/visibility -graphs 500

## random: the randomized visibility test at length (RANDOM_GRAPHS graphs per database)
RANDOM_GRAPHS ?= 20000
random:
	$(GO) test -count=1 -timeout 120m -run TestVisibilityMatchesModel ./internal/visibility -graphs $(RANDOM_GRAPHS)

## bench-push: commit-to-push latency and memory per idle subscriber, beside a raw floor
## (PostgreSQL, 1,000 and 10,000 subscribers; a few minutes). Numbers go in docs/performance.md.
bench-push:
	$(GO) test -count=1 -timeout 60m -run TestPushBenchmark ./internal/pushbench -v -push-bench

## fuzz: each fuzz target for FUZZTIME (CI runs 10s each; run longer by hand, e.g. FUZZTIME=10m)
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseGlobalID$$' -fuzztime $(FUZZTIME) ./internal/relay
	$(GO) test -run '^$$' -fuzz '^FuzzCursor$$' -fuzztime $(FUZZTIME) ./internal/relay
	$(GO) test -run '^$$' -fuzz '^FuzzHTTPBody$$' -fuzztime $(FUZZTIME) ./internal/server
	$(GO) test -run '^$$' -fuzz '^FuzzMessage$$' -fuzztime $(FUZZTIME) ./internal/wstransport

## generate: regenerate gqlgen's code from graph/schema/*.graphqls (graph/generate: gqlgen with sequential fields)
generate:
	$(GO) run ./graph/generate

## check-generated: fail when the committed generated code is stale
check-generated: generate
	@if [ -n "$$(git status --porcelain -- graph/)" ]; then \
		git status --porcelain -- graph/; \
		echo "generated code is stale: run 'make generate' and commit the result"; exit 1; fi

## lint: gofmt and go vet
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then \
		echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin data

## bench-webhooks: commit-to-delivery latency to local webhook receivers beside a websocket subscriber
bench-webhooks:
	$(GO) test -count=1 -timeout 30m -run TestWebhookBenchmark ./internal/pushbench -v -webhook-bench

## bench: the first page of purchase orders beside PostGraphile with RLS on the peer's 1M-order
## data set (../shared/peers/postgraphile): one hot viewer of each kind, and the page rotated over up to
## 1,000 viewers of each kind (resellers, customers, distributors); the SQL floor, the rule's cost,
## writes one at a time, placing concurrently (c=16 and c=64, many vendors and one busy vendor, beside
## the peer's plain INSERTs by pgbench) and SQLite; about 50 minutes. BENCH_DATABASE_URL=
## postgres://postgres@127.0.0.1:5432/postgres uses that server (a superuser); without it a throwaway
## cluster. Prints results.md (also written to BENCH_FLAGS='-page-bench-out DIR'); docs/performance.md
## records them.
PEER_DIR ?= $(abspath ../shared/peers/postgraphile)
BENCH_FLAGS ?=
bench:
	$(GO) test -count=1 -timeout 150m -run TestPageBenchmark ./internal/pagebench -v -page-bench -page-bench-peer $(PEER_DIR) $(BENCH_FLAGS)

## bench-placing: only make bench's placing cases (c=16 and c=64; many vendors, each with its own
## chain, and one busy vendor placing direct sales; each on a fresh database: orders/s, p50/p99, lock
## waits by type, CPU split), each beside the peer's plain INSERT transactions by pgbench on its schema;
## a few minutes, no loaded data needed. BENCH_FLAGS='-page-bench-placing-cases busy:16' picks cases,
## '-page-bench-placing-duration 5s' shortens them, '-page-bench-server PATH' measures another build.
bench-placing:
	$(GO) test -count=1 -timeout 30m -run TestPlacingConcurrently ./internal/pagebench -v -page-bench-placing -page-bench-peer $(PEER_DIR) $(BENCH_FLAGS)

## soak: two replicas on one PostgreSQL, each SIGKILLed in turn SOAK_KILLS times while 12 writers
## record orders and 18 subscribers resume from their last cursor; fails on any event missing,
## duplicated or out of order (make test runs a short version: 4 kills, 6 writers, 8 subscribers)
SOAK_KILLS ?= 20
soak:
	$(GO) test -count=1 -timeout 30m -run TestSoakReplicasKilledUnderLoad ./internal/e2e -v \
		-soak-kills $(SOAK_KILLS) -soak-every 3s -soak-writers 12 -soak-subscribers 18
