# syntax=docker/dockerfile:1
# The order service image: one image for every ROLE (all, api, worker), running the compiled
# JavaScript (npm run build), with the operator CLI as `orders` on the PATH:
#   docker compose exec api orders failed
# (never `npx orders` in a container: without a TTY npx assumes --yes and may fetch an unrelated
# package of that name from the registry).

# ---- dependencies ----------------------------------------------------------------------------
FROM node:20-bookworm-slim AS deps
WORKDIR /app
# better-sqlite3 normally downloads a prebuilt binary; these tools let it compile from source
# instead when no prebuilt binary can be had. They stay in this stage, not in the final image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# swagger-ui-dist depends on @scarf/scarf, whose install script reports the install to scarf.sh
# (package.json's allowScripts turns it off for npm 11; this image's npm honours only the variable).
ENV SCARF_ANALYTICS=false
RUN npm ci --omit=dev --no-audit --no-fund

# ---- build: the TypeScript compiled to dist/ (the compiler stays in this stage) -----------------
FROM deps AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
RUN npm run build

# ---- runtime ---------------------------------------------------------------------------------
FROM node:20-bookworm-slim
# tini as PID 1 passes signals on and reaps child processes (a managed redis-server, say).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
# A container's own loopback is unreachable from outside it: listen on every interface. The image
# holds dist/ and no sources: ORDERS_LAUNCH=dist makes a missing build an error, not a fallback.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_PATH=/data/orders.db \
    ORDERS_LAUNCH=dist
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY drizzle ./drizzle
COPY bin ./bin
COPY --from=build /app/dist ./dist
# The operator CLI on the PATH, as `orders`.
RUN ln -s /app/bin/orders.js /usr/local/bin/orders
# The SQLite database lives in /data; a new named volume takes this directory's owner.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# This process's own /healthz (PORT, or a worker's METRICS_PORT; a worker without one has no HTTP).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/app/bin/healthcheck.js"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# What `npm start` runs, without npm in between: npm does not pass a SIGTERM on to the service
# (docker stop would kill it mid-shutdown), whereas node receives it and shuts down gracefully.
CMD ["node", "bin/start.js"]
