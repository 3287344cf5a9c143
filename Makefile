# Gatehouse. `make help` lists the targets.
SHELL := /bin/bash
# SpiceDB v1.57.1 needs Go 1.26.9 or newer: the go command fetches this
# toolchain from the module proxy (about 10 s, once per machine). A machine
# runs its own Go otherwise; go.mod's go line alone does not switch it.
export GOTOOLCHAIN ?= go1.27.3
GO    ?= go
BIN   := bin
LINT  := $(GO) tool -modfile=tools/go.mod golangci-lint

# The integration tests start containers from these images; `make test`
# builds them locally (no registry is needed). Elsewhere, point them at the
# official authzed/spicedb:v1.57.1.
export SPICEDB_IMAGE   ?= gatehouse-spicedb:v1.57.1
export GATEHOUSE_IMAGE ?= gatehouse:dev
# The HTTP rule tests that `make test` runs again in every other shape
# (GATEHOUSE_TEST_SHAPE, server/shape_test.go): embedded SpiceDB on
# Postgres, a remote SpiceDB on memory, and a remote SpiceDB on Postgres
# with two Gatehouse replicas on one durable audit trail.
# TestOrganisationDeleteRules stays on embedded memory: its O3 case with
# 5,000 contractors takes about 10 minutes on Postgres, where each write
# waits for its audit record (up to a Watch heartbeat, 100 ms).
MATRIX_TESTS := ^(TestChangeRequestLife|TestHostileInput_Issue9|TestSeededCheck|TestReadYourWrites|TestCrossReplicaReadYourWrites|TestCallerTokenHeader_Bounded|TestAuditTrail_X2|TestEverywhereRules|TestRoleRules|TestSecurityRules|TestContractorRules|TestOrganisationRules|TestTeamRules|TestChangeRequests|TestBadInput_X3|TestExplain|TestWhyNot_X6|TestWhyNotUntil_T5_X6|TestHostileInput_X5_DepthBound|TestTrailPerOrganisation_X2|TestUnrecordableWriteRefused_X2|TestExceptionExpiresOnTime_C6|TestExportCutShort_X2|TestExpiringRoles_T5|TestAccessReview|TestDryRun_X7_Random|TestNeverStale_AcrossReplicas|TestNeverStale_RandomWorld|TestCursorTampering)$$
# testcontainers' reaper image cannot be pulled without a registry; tests clean up after themselves.
export TESTCONTAINERS_RYUK_DISABLED ?= true
# A /.dockerenv makes testcontainers believe it runs inside a container and
# look for published ports on a gateway address; with the local Docker
# socket they are on loopback.
ifneq ($(wildcard /.dockerenv),)
ifeq ($(DOCKER_HOST),)
export TESTCONTAINERS_HOST_OVERRIDE ?= 127.0.0.1
endif
endif

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/gatehouse
	CGO_ENABLED=0 $(GO) build -o $(BIN)/gatehouse ./cmd/gatehouse

run: build ## start Gatehouse on embedded SpiceDB with the demo data (prints the API key)
	$(BIN)/gatehouse serve

test: ## run every test: unit, schema proofs, HTTP rules, fuzzing, Docker integration
	@if docker info >/dev/null 2>&1; then $(MAKE) --no-print-directory images; else echo "Docker is not reachable: integration tests will skip (and fail under CI=true)"; fi
	$(GO) test -count=1 -timeout 60m ./...
	@pids=(); for shape in embedded-postgres remote-memory remote-postgres; do GATEHOUSE_TEST_SHAPE=$$shape $(GO) test -count=1 -timeout 20m -run '$(MATRIX_TESTS)' ./server/ > >(sed "s/^/[$$shape] /") 2>&1 & pids+=($$!); done; \
	  failed=0; for p in "$${pids[@]}"; do wait $$p || failed=1; done; exit $$failed
	@# Budgets in executions, not seconds: Go 1.26's fuzz coordinator can fail a
	@# time-bounded run with a bare "context deadline exceeded" when a worker is
	@# mid-call at the deadline (go.dev/issue/75804, fixed in Go 1.27).
	$(GO) test -run '^$$' -fuzz FuzzParseRelationship -fuzztime 200000x .
	$(GO) test -run '^$$' -fuzz FuzzParseSubject -fuzztime 150000x .
	$(GO) test -run '^$$' -fuzz FuzzValidNames -fuzztime 200000x .

bench: build ## measure checks and lookups side by side: Gatehouse embedded and remote, SpiceDB's gateway, OpenFGA
	$(GO) build -o $(BIN)/spicedb github.com/authzed/spicedb/cmd/spicedb
	cd bench/openfga && CGO_ENABLED=0 $(GO) build -o ../../$(BIN)/openfga github.com/openfga/openfga/cmd/openfga
	$(GO) run ./bench -gatehouse $(BIN)/gatehouse -spicedb $(BIN)/spicedb -openfga $(BIN)/openfga $(if $(GATEHOUSE_TEST_POSTGRES_URI),-postgres "$(GATEHOUSE_TEST_POSTGRES_URI)") $(BENCH_FLAGS)
	$(GO) test -run '^$$' -bench CheckPaths -benchtime 3s ./spicedb/
	$(GO) test -run '^$$' -bench CheckScaling -benchtime 300x -timeout 30m ./spicedb/
	$(GO) test -run '^$$' -bench LookupContractors -benchtime 10x ./spicedb/
	$(GO) test -run '^$$' -bench CoalescedChecks -benchtime 5s ./spicedb/
	$(GO) test -run '^$$' -bench Admin -benchtime 3s ./server/
	$(GO) test -run '^$$' -bench HostileInput -benchmem ./server/
	$(GO) test -run '^$$' -bench AwaitingMe -benchtime 20x ./workflow/

lint: ## golangci-lint (errorlint, errname, bodyclose, gosec, noctx, revive, staticcheck; gofumpt)
	$(LINT) run ./...

-include images.mk
