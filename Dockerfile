# Gatehouse: one static binary FROM scratch.
#
# There is no builder stage: `make images` builds bin/image/gatehouse on the
# host with CGO_ENABLED=0 (so the build needs no Go image and no registry)
# and copies the host's CA bundle beside it, which remote SpiceDB over TLS
# needs. Build it with `make images`, or by hand:
#
#   CGO_ENABLED=0 go build -ldflags='-s -w' -o bin/image/gatehouse ./cmd/gatehouse
#   cp /etc/ssl/certs/ca-certificates.crt bin/image/
#   docker build -t gatehouse:dev .
#
# The same binary is the server (`serve`, the default command) and the CLI,
# which gives the health check: `gatehouse ready` exits 0 once GET /readyz
# answers 200. It is also `gatehouse ring`, which tells a SpiceDB cluster's
# nodes which of them serve (see the README's "Running in production").
FROM scratch
COPY bin/image/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY bin/image/gatehouse /usr/local/bin/gatehouse
# An empty directory the user owns, for `gatehouse ring` (GATEHOUSE_RING_DIR):
# a named volume mounted here starts out owned by the user too.
COPY --chown=65532:65532 bin/image/ring/ /var/run/gatehouse-ring/
ENV PATH=/usr/local/bin \
    GATEHOUSE_ADDR=0.0.0.0:8080
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 CMD ["gatehouse", "ready"]
ENTRYPOINT ["gatehouse"]
CMD ["serve"]
