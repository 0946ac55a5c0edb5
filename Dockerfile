# vireo's images, for users with a container builder. Not built here: the project's machines have
# no Docker, and the local cluster runs the same programs from source (test/cluster/images.json).
#
#   docker build --target controller -t vireo/controller:0.1.0 .   # node dist/src/main.js
#   docker build --target proxy      -t vireo/proxy:0.1.0 .        # node dist/mesh/main.js
#
# Both are ENTRYPOINTs, so a pod's `args` add flags (the chart passes --xds-port and friends).

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY mesh ./mesh
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# package.json carries "type": "module", which dist/ needs.
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The base image's `node` user, by number so that runAsNonRoot can check it.
USER 1000:1000

FROM runtime AS proxy
# outbound (HTTP_PROXY), inbound, admin
EXPOSE 15001 15006 15000
# Memory flags chosen by measurement (docs/benchmarks.md, "Issue 14, next steps"): V8's young
# generation capped at 2 MB semi-spaces instead of growing to 16 MB under load, and glibc kept to
# two malloc arenas.
ENV MALLOC_ARENA_MAX=2
ENTRYPOINT ["node", "--max-semi-space-size=2", "dist/mesh/main.js"]

# Last, so it is what a plain `docker build .` gives.
FROM runtime AS controller
# xDS, metrics and probes
EXPOSE 15010 8080
ENTRYPOINT ["node", "dist/src/main.js"]
