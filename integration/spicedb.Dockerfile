# SpiceDB at the version pinned in go.mod, as a static binary FROM scratch:
# a stand-in for the official authzed/spicedb image where no registry can
# be reached. It keeps the official image's layout, so the same commands,
# compose files and health checks work with either:
#   /usr/local/bin/spicedb            ENTRYPOINT, run as `serve`, `migrate head`, ...
#   /usr/local/bin/grpc_health_probe  `grpc_health_probe -addr=localhost:50051`
#   user 65532 (nonroot), port 50051
#
# `make images` builds the binaries on the host and then this image:
#   CGO_ENABLED=0 go build -ldflags='-s -w' -o bin/image/spicedb github.com/authzed/spicedb/cmd/spicedb
#   CGO_ENABLED=0 go build -ldflags='-s -w' -o bin/image/grpc_health_probe ./integration/cmd/grpc_health_probe
#   docker build -f integration/spicedb.Dockerfile -t gatehouse-spicedb:v1.57.1 .
# (The official build adds -tags memoryprotection; SpiceDB then logs that
# it falls back to no memory protection provider, as the official image
# does without a configured default.)
FROM scratch
COPY bin/image/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY bin/image/grpc_health_probe /usr/local/bin/grpc_health_probe
COPY bin/image/spicedb /usr/local/bin/spicedb
ENV PATH=/usr/local/bin
USER 65532:65532
EXPOSE 50051
ENTRYPOINT ["spicedb"]
