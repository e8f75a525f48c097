# Runner for npm-packaged and Node mcpb servers: Node 22 + the mcpfleet stdio bridge
# (`mcpfleet bridge --port 8080 -- <cmd>`) + unzip for bundles. Multi-arch:
#   docker buildx build --platform linux/amd64,linux/arm64 -f infra/images/runner-node.Dockerfile \
#     -t ghcr.io/acme/mcpfleet-runner-node:0.1.0 --push .
# Packages are baked on top of this image at deploy time (infra/components/bakedImages.ts), into
# /srv/mcp, so a cold start never installs anything. It also bridges OCI-image servers that speak
# stdio: their image is mounted read-only (an image volume) and the bridge starts it from there.
FROM node:22.23-bookworm-slim AS deps
WORKDIR /opt/mcpfleet
COPY package.json package-lock.json ./
COPY controller/package.json ./controller/
# Only the controller workspace's dependencies: what the controller and the bridge run on
# (the Pulumi program's packages stay out of the image).
RUN npm ci --omit=dev --omit=optional --workspace controller --no-audit --no-fund \
  && npm cache clean --force

FROM node:22.23-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends unzip ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/mcpfleet
COPY --from=deps /opt/mcpfleet/node_modules ./node_modules
COPY package.json ./
COPY controller ./controller
COPY registry/catalog ./registry/catalog
# The CLI in the image is whole: registry add/search (a few KB) load from here.
COPY registry/import ./registry/import
RUN ln -s /opt/mcpfleet/controller/cli/bin.js /usr/local/bin/mcpfleet && chmod +x controller/cli/bin.js \
  && mkdir -p /srv/mcp && chown 10001:10001 /srv/mcp
ENV HOME=/tmp npm_config_cache=/tmp/.npm npm_config_update_notifier=false
WORKDIR /srv/mcp
USER 10001:10001
EXPOSE 8080
