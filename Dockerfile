# kubemr:dev — the coordinator, dashboard, fetch and worker image (one image, several commands).
#   minikube image build -t kubemr:dev .        (or: docker build -t kubemr:dev .)
# Build stage compiles the TypeScript; the runtime stage holds production dependencies, dist/,
# proto/ and the dashboard's templates, and runs as the unprivileged uid 1000 (`node`).
# Every command is exec form: nothing at runtime needs a shell.

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN ["npm", "ci", "--no-audit", "--no-fund"]
COPY . .
RUN ["npm", "run", "build"]
RUN ["npm", "prune", "--omit=dev", "--no-audit", "--no-fund"]

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    KUBEMR_DATA=/data
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/proto ./proto
COPY --from=build /app/bin ./bin
COPY --from=build /app/cmd/dashboard/views ./cmd/dashboard/views
COPY --from=build /app/cmd/dashboard/public ./cmd/dashboard/public
# `kubemr` resolves to this very package from anywhere under /app: an app image built on this one
# (examples/docker/Dockerfile.ts-app) imports 'kubemr/app' from the kubemr that runs its worker.
RUN ["ln", "-s", "..", "node_modules/kubemr"]
# Files stay owned by root and read-only to the app: the root filesystem is read-only in the
# cluster anyway; writable places are /data (the shared volume) and /tmp (an emptyDir).
# Numeric, not `node`: the kubelet can only check runAsNonRoot against a numeric USER (a pod
# that sets no runAsUser of its own would otherwise be refused).
USER 1000
EXPOSE 7070 8080 8081
CMD ["node", "dist/cmd/kubemr/main.js", "--help"]
