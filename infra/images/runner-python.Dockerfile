# Runner for PyPI-packaged servers: Python 3.12 + uv/uvx, plus Node 22 for the mcpfleet stdio
# bridge. Multi-arch:
#   docker buildx build --platform linux/amd64,linux/arm64 -f infra/images/runner-python.Dockerfile \
#     -t ghcr.io/acme/mcpfleet-runner-python:0.1.0 --push .
# Baked images run `uv tool install <pkg>==<version>` on top (tools in /opt/uv/tools, readable by
# the runtime user) and set UV_OFFLINE=1 so a wake never downloads.
FROM ghcr.io/astral-sh/uv:0.8 AS uv
FROM node:22.23-bookworm-slim AS node

FROM node:22.23-bookworm-slim AS deps
WORKDIR /opt/mcpfleet
COPY package.json package-lock.json ./
COPY controller/package.json ./controller/
# Only the controller workspace's dependencies: what the controller and the bridge run on
# (the Pulumi program's packages stay out of the image).
RUN npm ci --omit=dev --omit=optional --workspace controller --no-audit --no-fund \
  && npm cache clean --force

FROM python:3.12-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends unzip ca-certificates \
  && rm -rf /var/lib/apt/lists/*
COPY --from=uv /uv /uvx /usr/local/bin/
COPY --from=node /usr/local/bin/node /usr/local/bin/node
WORKDIR /opt/mcpfleet
COPY --from=deps /opt/mcpfleet/node_modules ./node_modules
COPY package.json ./
COPY controller ./controller
COPY registry/catalog ./registry/catalog
# The CLI in the image is whole: registry add/search (a few KB) load from here.
COPY registry/import ./registry/import
RUN ln -s /opt/mcpfleet/controller/cli/bin.js /usr/local/bin/mcpfleet && chmod +x controller/cli/bin.js \
  && mkdir -p /srv/mcp /opt/uv/tools /opt/uv/bin && chown -R 10001:10001 /srv/mcp /opt/uv
ENV HOME=/tmp UV_TOOL_DIR=/opt/uv/tools UV_TOOL_BIN_DIR=/opt/uv/bin UV_CACHE_DIR=/tmp/uv-cache \
  UV_PYTHON_DOWNLOADS=never PATH=/opt/uv/bin:$PATH
WORKDIR /srv/mcp
USER 10001:10001
EXPOSE 8080
