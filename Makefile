# threeway: `make run` and `make test` set up a fresh Debian machine (as root)
# and then do their job; see README.md.

SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go

# Debian packages: the build needs libvpx, libopus, libyuv and libspeexdsp
# (the phone's resampler) for the codec package's cgo; the tests also need
# iproute2 and util-linux for the loopback-only network namespace they run
# in, Chromium for the browser tests, sipp (sip-tester) as the phone of
# the SIP dial-out tests and redis-server as the cluster tests' store.
BUILD_DEBS := libvpx-dev libopus-dev libyuv-dev libspeexdsp-dev pkg-config gcc
TEST_DEBS := $(BUILD_DEBS) iproute2 util-linux chromium sip-tester redis-server
DEBS ?= $(BUILD_DEBS)

# staticcheck runs from its own pinned module, not as a go.mod tool: as a
# tool it would raise x/crypto, x/net and x/sys in the server's own build.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := bin/tools/staticcheck

# Packages whose tests exercise concurrency run under the race detector,
# one package at a time: two media packages slowed by the detector at once
# starve each other's real-time tests.
RACE_PKGS := ./call/... ./mixer/... ./signaling/... ./peer/... ./cluster

.PHONY: deps build run test vet bench soak realnet cluster-load fuzz screenshots clean

deps:
	@missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	$(GO) mod download

build: deps
	$(GO) build -o bin/threeway ./cmd/threeway

run: build
	./bin/threeway serve --demo

vet test: DEBS = $(TEST_DEBS)
vet: deps
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	GOBIN=$(CURDIR)/bin/tools $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(STATICCHECK) ./...

# Tests run in a fresh network namespace holding only loopback, so nothing
# they do can reach another host. Everything is built first, outside it.
test: vet
	$(GO) test -count=1 -run '^$$' ./... >/dev/null
	$(GO) test -race -count=1 -run '^$$' $(RACE_PKGS) >/dev/null
	unshare --net sh -c 'ip link set lo up && \
		$(GO) test -count=1 ./... && \
		$(GO) test -race -p 1 -count=1 $(RACE_PKGS)'

# Each fuzz target runs for FUZZTIME, in the loopback-only namespace;
# `make test` runs their seed corpora (and any crasher a run saved under
# the package's testdata/fuzz) as ordinary tests.
FUZZTIME ?= 60s
FUZZ_TARGETS := ./call:FuzzLoadDirectory ./mixer:FuzzVideoIngest ./mixer:FuzzAudioIngest \
	./signaling:FuzzClientMessage ./signaling:FuzzOffer
fuzz: deps
	$(GO) test -count=1 -run '^$$' ./... >/dev/null
	unshare --net sh -c 'ip link set lo up && for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; echo "== $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run "^$$" -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; done'

# The README's screenshots of the page (docs/screenshots), taken in
# Chromium by TestBrowserScreenshots.
screenshots: DEBS = $(TEST_DEBS)
screenshots: deps
	mkdir -p docs/screenshots
	$(GO) test -count=1 -run '^$$' ./signaling >/dev/null
	unshare --net sh -c 'ip link set lo up && \
		THREEWAY_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run "^TestBrowserScreenshots$$" ./signaling'

# docs/performance.md's figures: benchmarks, a short load test (calls
# per core) and the comparison with GStreamer and ffmpeg.
bench: deps
	scripts/bench.sh
	$(MAKE) soak

# SOAK of calls joining and leaving beside a command flood and 500 idle
# sockets (TestSoak), with goroutines, RSS and a bystander call's frame
# rate before and after.
SOAK ?= 10m
soak: deps
	$(GO) test -count=1 -run '^$$' ./signaling/ >/dev/null
	set -o pipefail; unshare --net sh -c 'ip link set lo up && THREEWAY_SOAK=$(SOAK) $(GO) test -count=1 -timeout 60m -run "^TestSoak$$" -v ./signaling/' \
		| grep -E "soak_test|^(ok|FAIL|--- )"

# The README's "Real networks" table: one call per network condition
# (loadtest --impair), in a loopback-only network namespace.
realnet: deps
	unshare --net sh -c 'ip link set lo up && scripts/realnet.sh'

# The README's "A cluster" figures: a load test through three nodes (each
# its own process) and a redis-server, in a loopback-only namespace.
cluster-load: DEBS = $(TEST_DEBS) jq curl
cluster-load: deps
	unshare --net sh -c 'ip link set lo up && scripts/cluster-load.sh'

clean:
	rm -rf bin
