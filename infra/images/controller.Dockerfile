# mcpfleet controller: the MCP gateway + scaler (`mcpfleet serve`). Multi-arch:
#   docker buildx build --platform linux/amd64,linux/arm64 -f infra/images/controller.Dockerfile \
#     -t ghcr.io/acme/mcpfleet-controller:0.1.0 --push .
# No build-time secrets; runs as uid 10001 (the restricted Pod Security profile).
FROM node:22.23-bookworm-slim AS deps
WORKDIR /opt/mcpfleet
COPY package.json package-lock.json ./
COPY controller/package.json ./controller/
# Only the controller workspace's dependencies: what the controller and the bridge run on
# (the Pulumi program's packages stay out of the image).
RUN npm ci --omit=dev --omit=optional --workspace controller --no-audit --no-fund \
  && npm cache clean --force

FROM node:22.23-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/mcpfleet
COPY --from=deps /opt/mcpfleet/node_modules ./node_modules
COPY package.json ./
COPY controller ./controller
COPY registry/catalog ./registry/catalog
# The CLI in the image is whole: registry add/search (a few KB) load from here.
COPY registry/import ./registry/import
RUN ln -s /opt/mcpfleet/controller/cli/bin.js /usr/local/bin/mcpfleet && chmod +x controller/cli/bin.js
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["node", "/opt/mcpfleet/controller/cli/bin.js"]
CMD ["serve"]
