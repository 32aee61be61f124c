# syntax=docker/dockerfile:1
# The order service image: one image for every ROLE (all, api, worker). There is no build step:
# tsx runs the TypeScript in src/ directly.

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

# ---- runtime ---------------------------------------------------------------------------------
FROM node:20-bookworm-slim
# tini as PID 1 passes signals on and reaps child processes (tsx starts an esbuild helper).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
# A container's own loopback is unreachable from outside it: listen on every interface.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_PATH=/data/orders.db
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY drizzle ./drizzle
COPY src ./src
# The SQLite database lives in /data; a new named volume takes this directory's owner.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
ENTRYPOINT ["/usr/bin/tini", "--"]
# What `npm start` runs, without npm in between: npm does not pass a SIGTERM on to the service
# (docker stop would kill it mid-shutdown), whereas node receives it and shuts down gracefully.
CMD ["node", "--import", "tsx", "src/main.ts"]
