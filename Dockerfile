# syntax=docker/dockerfile:1
# One image for every role; the subcommand picks it (gateway, worker, migrate).
# Migrations are embedded in the binary, so the image needs nothing else.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so a source change does not re-download them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /cventsync ./cmd/cventsync

# distroless/static: CA certificates (for Cvent's HTTPS API) and tzdata, no
# shell, runs as an unprivileged user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /cventsync /usr/local/bin/cventsync
USER nonroot:nonroot
# The gateway listens on 127.0.0.1 by default; in a container it must be reachable.
ENV CVENTSYNC_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/cventsync"]
CMD ["gateway"]
