# syntax=docker/dockerfile:1
# bedrock-sweeper as an image: a release build whose dependency layer is cached (cargo-chef
# cooks the dependencies from the lock file alone, so a change to our code rebuilds only our
# crates), then the binary alone on a distroless runtime (glibc, CA certificates, no shell),
# as a non-root user. No HEALTHCHECK: the orchestrator probes /healthz and /readyz
# (deploy/kubernetes/). Build: docker build -t bedrock-sweeper .

ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-slim-bookworm AS chef
RUN cargo install cargo-chef --version 0.1.78 --locked
WORKDIR /build

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
# Queries are checked against the committed .sqlx/ cache: no database at build time.
ENV SQLX_OFFLINE=true CARGO_PROFILE_RELEASE_DEBUG=false
COPY --from=planner /build/recipe.json recipe.json
RUN cargo chef cook --release --locked --package bedrock-sweeper --bin bedrock-sweeper --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --package bedrock-sweeper --bin bedrock-sweeper

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /build/target/release/bedrock-sweeper /usr/local/bin/bedrock-sweeper
# The numeric id of distroless's "nonroot", so that runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/bedrock-sweeper"]
CMD ["serve"]
