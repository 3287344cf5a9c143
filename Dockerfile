# Gatehouse: one static binary FROM scratch.
#
# There is no builder stage: `make images` builds bin/image/gatehouse on the
# host with CGO_ENABLED=0 (so the build needs no Go image and no registry)
# and copies the host's CA bundle beside it, which remote SpiceDB over TLS
# needs. Build it with `make images`, or by hand:
#
#   export GOTOOLCHAIN=go1.27.3    # SpiceDB v1.57.1 needs Go 1.26.9 or newer
#   CGO_ENABLED=0 go build -ldflags='-s -w' -o bin/image/gatehouse ./cmd/gatehouse
#   cp /etc/ssl/certs/ca-certificates.crt bin/image/
#   docker build -t gatehouse:dev .
#
# The same binary is the server (`serve`, the default command) and the CLI,
# which gives the health check: `gatehouse ready` exits 0 once GET /readyz
# answers 200.
FROM scratch
COPY bin/image/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY bin/image/gatehouse /usr/local/bin/gatehouse
ENV PATH=/usr/local/bin \
    GATEHOUSE_ADDR=0.0.0.0:8080
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 CMD ["gatehouse", "ready"]
ENTRYPOINT ["gatehouse"]
CMD ["serve"]
