# Tollgate server image: multi-stage (build with dev dependencies, run with
# production ones only), non-root, with a health check. See docs/deploy.md.
#   docker build -t tollgate .
#   docker run -p 3000:3000 -v tollgate-data:/data tollgate          (embedded PGlite)
#   docker compose up                                                 (2 replicas + PostgreSQL + Redis + nginx)

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# Server (tsc → dist/) and dashboard (vite → dist/web/), then drop dev dependencies.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    TOLLGATE_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/drizzle ./drizzle
# The data dir (PGlite database, generated secret, mail outbox, dead-letter files) belongs to the unprivileged user.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# Liveness: the process answers. (Readiness — database reachable, not draining — is /readyz, for load balancers.)
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM starts the graceful shutdown (drain, flush, exit 0): exec form, so node is PID 1's direct child of nothing else.
STOPSIGNAL SIGTERM
CMD ["node", "bin/tollgate.js", "serve"]
