# syntax=docker/dockerfile:1
#
# clusterip-guard webhook image.
#
#   docker build -t clusterip-guard:0.1.0 .
#
# Three stages: `build` compiles TypeScript with the dev dependencies, `prod-deps` installs the
# production dependencies alone, and the final stage copies only dist/, those node_modules,
# package.json and one util-linux binary (chrt) onto a distroless Node 24 base: no shell, no
# package manager, non-root.
# The build stages use the Debian 12 (bookworm) Node image, the same Debian release as the
# distroless base, so anything compiled there runs unchanged in the final image.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs an install script to build, and skipping them means the
# `node` dev dependency (the project's pinned Node for developers) does not download a second
# Node binary; the base image already is Node 24.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# Run the compiler with the image's node, not through npx: npx would put node_modules/.bin first
# on PATH, where the skipped `node` package left no usable binary.
RUN node node_modules/typescript/bin/tsc -p tsconfig.json

FROM node:24-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM gcr.io/distroless/nodejs24-debian12:nonroot AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# chrt (util-linux, in every Debian image; it needs only glibc, which the distroless base has):
# the background-scan process and the policy-analysis worker thread run `chrt --idle` on
# themselves to take the SCHED_IDLE policy, so admission preempts them at once
# (src/cpu-priority.ts; without chrt they stay at nice 19).
COPY --from=build /usr/bin/chrt /usr/bin/chrt
# The distroless "nonroot" user, numeric so that Kubernetes' runAsNonRoot check can verify it.
# The files above stay owned by root: the process can read its code but not change it.
USER 65532:65532
# 8443: HTTPS /mutate and /validate. 9090: plain-HTTP /healthz, /readyz, /metrics.
EXPOSE 8443 9090
# Exec form only: there is no shell in this image. The chart replaces CMD with its own arguments.
# --single-threaded-gc: V8's GC helper threads are shared by the main thread and the analysis
# worker; at normal priority they did the worker's collections against the main thread
# (Service p99 9.4-12.9 ms against 2.3-2.7 ms with the flag, README "Bounded work and isolation").
# It cannot be set through NODE_OPTIONS.
ENTRYPOINT ["/nodejs/bin/node", "--single-threaded-gc", "dist/main.js"]
CMD ["serve", "--config", "/etc/clusterip-guard/config.yaml", "--tls-cert", "/etc/clusterip-guard/tls/tls.crt", "--tls-key", "/etc/clusterip-guard/tls/tls.key", "--port", "8443", "--probe-port", "9090"]
