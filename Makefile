# cventsync — `make dev` runs everything locally, `make test` runs every test.
SHELL := /bin/bash
TEMPORAL_CLI_VERSION := v1.5.1
BIN_DIR := $(CURDIR)/.bin
TEMPORAL := $(BIN_DIR)/temporal
CVENTSYNC := $(BIN_DIR)/cventsync
GO_TEST_FLAGS ?= -count=1 -timeout 30m

export CVENTSYNC_TEMPORAL_BIN := $(TEMPORAL)

.PHONY: all build dev test unit lint bench temporal tools clean

all: build

# The Temporal CLI (with its dev server), built once from its Go module.
temporal: $(TEMPORAL)
$(TEMPORAL):
	@echo "building the Temporal CLI $(TEMPORAL_CLI_VERSION) into $(BIN_DIR) (first time only, a few minutes)"
	@mkdir -p $(BIN_DIR)
	cd /tmp && GOBIN=$(BIN_DIR) GOFLAGS=-mod=mod go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)
	@mv -f $(BIN_DIR)/cli $(TEMPORAL) 2>/dev/null || true

build:
	@mkdir -p $(BIN_DIR)
	go build -o $(CVENTSYNC) ./cmd/cventsync

# Everything on embedded defaults: PostgreSQL and Temporal under .data/, gateway and worker.
dev: temporal build
	$(CVENTSYNC) dev

# docker-compose validates docker-compose.yml in the tests (no Docker engine needed);
# chromium runs the console's browser tests.
tools:
	@command -v docker-compose >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing docker-compose (validates docker-compose.yml in tests)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose) >/dev/null; \
	  else echo "docker-compose is missing: apt-get install docker-compose (the compose test is skipped without it)"; fi; }
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium (the console's browser tests)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; \
	  else echo "chromium is missing: apt-get install chromium (the console's browser tests are skipped without it)"; fi; }

test: temporal tools lint
	go test $(GO_TEST_FLAGS) ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=3s

# Fuzz targets, seeded from ../shared/cvent/samples: 60 s each here, 3 s each
# in `make test`. A failure leaves its input under the package's
# testdata/fuzz/; turn it into a unit test and fix it.
FUZZTIME ?= 60s
.PHONY: fuzz
fuzz:
	go test -run '^$$' -fuzz '^FuzzDecodeEnvelope$$' -fuzztime $(FUZZTIME) ./internal/cventpush
	go test -run '^$$' -fuzz '^FuzzSettings$$' -fuzztime $(FUZZTIME) ./internal/settings
	go test -run '^$$' -fuzz '^FuzzMappingSettings$$' -fuzztime $(FUZZTIME) ./internal/mapping
	go test -run '^$$' -fuzz '^FuzzFromAttendee$$' -fuzztime $(FUZZTIME) ./internal/mapping
	go test -run '^$$' -fuzz '^FuzzListQuery$$' -fuzztime $(FUZZTIME) ./gateway

unit:
	go test -count=1 -short ./internal/... ./workflows/...

# The chaos suite at full size (README: Chaos suite): PostgreSQL, Temporal, two
# gateways, two workers and a simulated Cvent on private ports; Temporal down
# 60 s, a worker killed in a 10,000-attendee sync, PostgreSQL restarted, a
# gateway killed in a burst, Cvent's faults. Prints what was sent, acknowledged,
# applied, lost and applied twice; fails on any loss or double effect. `make
# test` runs the short version. CHAOS_RUN picks scenarios (a -run pattern).
CHAOS_RUN ?= .
.PHONY: chaos
chaos: temporal
	CVENTSYNC_CHAOS=full go test -count=1 -timeout 60m -v -run '$(CHAOS_RUN)' \
	  -skip '^TestGatewayMemoryUnderLargeAndSlowBodies$$' ./internal/chaos

lint:
	go vet ./...
	go run go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0 ./workflows/...

bench: temporal build
	go run ./cmd/cventsync bench

clean:
	rm -rf $(BIN_DIR) bin
