#!/usr/bin/env bash
# Regenerates the TypeScript types of the Envoy v3 protos vireo uses (src/xds/generated/) from the
# protos shipped in @grpc/grpc-js-xds. Options must match the loader in src/xds/protos.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
D=node_modules/@grpc/grpc-js-xds/deps
rm -rf src/xds/generated
npx proto-loader-gen-types --keepCase --longs=String --enums=String --defaults --oneofs --json \
  --includeComments=false --grpcLib=@grpc/grpc-js --importFileExtension=.js \
  -I "$D/envoy-api" -I "$D/xds" -I "$D/googleapis" -I "$D/protoc-gen-validate" \
  -O src/xds/generated \
  envoy/service/discovery/v3/ads.proto \
  envoy/service/status/v3/csds.proto \
  envoy/config/listener/v3/listener.proto \
  envoy/config/route/v3/route.proto \
  envoy/config/cluster/v3/cluster.proto \
  envoy/config/endpoint/v3/endpoint.proto \
  envoy/extensions/transport_sockets/tls/v3/secret.proto \
  envoy/extensions/transport_sockets/tls/v3/tls.proto \
  envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto \
  envoy/extensions/filters/http/router/v3/router.proto \
  envoy/extensions/filters/http/fault/v3/fault.proto \
  envoy/extensions/filters/http/rbac/v3/rbac.proto
# The generator names its source paths relative to the cwd; keep them stable across machines.
find src/xds/generated -name '*.ts' -exec sed -i 's#^// Original file: node_modules/@grpc/grpc-js-xds/deps/#// Original file: #' {} +
