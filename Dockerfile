# syntax=docker/dockerfile:1
# Build stage: compile the native SQLite binding against the image's Node.
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY bin ./bin
COPY src ./src
COPY config ./config

# Runtime stage: no compilers, non-root, data on a volume.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    COUNTERSIGN_CONFIG=/app/config/default.yaml \
    COUNTERSIGN_DATA_DIR=/data \
    COUNTERSIGN_HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD node -e "fetch('http://127.0.0.1:8080/-/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/countersign.js"]
CMD ["serve"]
