# One image for the API, the worker and the one-off jobs (migrations, ops commands): the command
# picks which (docker-compose.yml). Everything is compiled at build time — TypeScript to dist/ and
# the workflow code to dist/workflow-bundle.js (`npm run build:dist`, also what `npm start` runs
# first) — so nothing at run time needs tsx, TypeScript or webpack, and the runtime stage has the
# production dependencies only.
# Every RUN is npm itself or an npm script, the same commands as outside Docker: where there is no
# Docker engine, `npm run check:image` runs these stages' RUN and COPY lines from this file.

# Node 24 LTS (supported until April 2028); package.json's engines allow it.
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# All dependencies: the build's (TypeScript, tsx, the bundler's inputs) and the runtime's.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# The TypeScript compiled to dist/ and the workflow bundle made once (scripts/build/main.ts).
# (`npm run build` also regenerates the typed client, packages/client: not part of the image.)
FROM deps AS build
COPY . .
RUN npm run build:dist

# Production dependencies only: no tsx, no TypeScript, no test tools.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production
# Owned by root, run as `node`: the process cannot change its own code.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
# Read at run time: the migrations (npm run migrate's job) and the compiled code with its bundle.
COPY schema ./schema
COPY --from=build /app/dist ./dist
USER node
# The API (PORT) and the worker's /metrics, /healthz, /readyz (WORKER_METRICS_PORT).
EXPOSE 3000 9464
# The API's or the worker's /readyz, whichever this container runs (scripts/image/healthcheck.ts).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["node", "dist/scripts/image/healthcheck.js"]
# The API; the worker: `node --enable-source-maps dist/workers/main.js`; migrations:
# `node dist/scripts/migrate.js`; ops: `node dist/scripts/ops.js <command>`.
CMD ["node", "--enable-source-maps", "dist/api/main.js"]
