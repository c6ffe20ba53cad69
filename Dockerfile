# One image for the API and the worker (the compose file picks the command).
# Describes production; this development machine has no Docker engine.
FROM node:20.19-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY domain ./domain
COPY platform ./platform
COPY schema ./schema
COPY activities ./activities
COPY workflows ./workflows
COPY workers ./workers
COPY api ./api
COPY scripts ./scripts
USER node
# tsx runs the TypeScript sources directly (the worker bundles workflows from source at start).
CMD ["node", "--import", "tsx", "api/main.ts"]
