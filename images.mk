# images.mk: the container images and the compose stack; the Makefile
# includes it. No registry is needed to build: the binaries are built on the
# host with CGO_ENABLED=0 and COPY'd into FROM scratch images.

SPICEDB_VERSION := $(shell go list -m -f '{{.Version}}' github.com/authzed/spicedb)
GATEHOUSE_LOCAL_IMAGE ?= gatehouse:dev
SPICEDB_LOCAL_IMAGE ?= gatehouse-spicedb:$(SPICEDB_VERSION)
IMAGE_BIN := bin/image
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
GO_STATIC := CGO_ENABLED=0 go build

# docker-compose (v1) or the compose plugin, whichever is installed.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
# LOCAL=1 runs the locally built SpiceDB image (docker-compose.local.yml);
# POSTGRES_URI=postgres://... runs SpiceDB on that Postgres instead of the
# postgres service (a Postgres on the Docker host is host.docker.internal).
# The image variables are set here, not taken from the environment, where
# the Makefile exports the test suite's choice of SpiceDB image.
COMPOSE_CMD = SPICEDB_IMAGE=authzed/spicedb:$(SPICEDB_VERSION) SPICEDB_LOCAL_IMAGE=$(SPICEDB_LOCAL_IMAGE) \
	GATEHOUSE_IMAGE=$(GATEHOUSE_LOCAL_IMAGE) GATEHOUSE_LOCAL_IMAGE=$(GATEHOUSE_LOCAL_IMAGE) \
	$(if $(POSTGRES_URI),SPICEDB_DATASTORE_CONN_URI='$(POSTGRES_URI)' GATEHOUSE_AUDIT_DATABASE='$(POSTGRES_URI)') \
	$(COMPOSE) -p gatehouse -f docker-compose.yml $(if $(LOCAL),-f docker-compose.local.yml)

# wait_healthy waits up to 90 s for the health check of service $(1).
define wait_healthy
	@for i in $$(seq 90); do \
		s=$$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' $$($(COMPOSE_CMD) ps -q $(1)) 2>/dev/null); \
		if [ "$$s" = healthy ]; then echo "$(1) is healthy"; exit 0; fi; sleep 1; \
	done; \
	echo "$(1) did not become healthy; its last log lines:"; $(COMPOSE_CMD) logs --tail=40 $(1); exit 1
endef

.PHONY: images up down

images: ## build the images gatehouse:dev and gatehouse-spicedb:<pinned version> from static host binaries
	@mkdir -p $(IMAGE_BIN)
	$(GO_STATIC) -ldflags='-s -w' -o $(IMAGE_BIN)/gatehouse ./cmd/gatehouse
	$(GO_STATIC) -tags memoryprotection -ldflags='-s -w -checklinkname=0' -o $(IMAGE_BIN)/spicedb github.com/authzed/spicedb/cmd/spicedb
	$(GO_STATIC) -ldflags='-s -w' -o $(IMAGE_BIN)/grpc_health_probe ./integration/cmd/grpc_health_probe
	cp $(CA_BUNDLE) $(IMAGE_BIN)/ca-certificates.crt
	docker build -q -t $(GATEHOUSE_LOCAL_IMAGE) -f Dockerfile .
	docker build -q -t $(SPICEDB_LOCAL_IMAGE) -f integration/spicedb.Dockerfile .
	@docker run --rm $(SPICEDB_LOCAL_IMAGE) version

up: ## start 3 SpiceDB nodes on Postgres with 2 Gatehouse replicas in front on :8080 and :8081 (LOCAL=1: local SpiceDB image; POSTGRES_URI=: your Postgres)
ifeq ($(POSTGRES_URI),)
	$(COMPOSE_CMD) up -d postgres
	$(call wait_healthy,postgres)
endif
	$(COMPOSE_CMD) run --rm --no-deps spicedb-migrate
	$(COMPOSE_CMD) up -d --no-deps spicedb-1 spicedb-2 spicedb-3
	$(call wait_healthy,spicedb-1)
	$(call wait_healthy,spicedb-2)
	$(call wait_healthy,spicedb-3)
	$(COMPOSE_CMD) up -d --no-deps gatehouse-1 gatehouse-2
	$(call wait_healthy,gatehouse-1)
	$(call wait_healthy,gatehouse-2)
	@echo "Gatehouse: http://127.0.0.1:$${GATEHOUSE_PORT:-8080} and http://127.0.0.1:$${GATEHOUSE_PORT_2:-8081} (API keys: those of GATEHOUSE_API_KEYS; give the CLI the secret as GATEHOUSE_API_KEY)"

down: ## stop and remove the compose stack (the Postgres volume stays; docker-compose -p gatehouse down -v drops it)
	$(COMPOSE_CMD) down --remove-orphans
