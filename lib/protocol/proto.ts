import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './gen/kubemr.js';

/** Loader options: must match the flags of `npm run gen:proto`, or the generated types lie. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  keepCase: false,
};

/** proto/kubemr.proto, found from both the sources (lib/) and the build (dist/lib/). */
export function protoPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, 'proto', 'kubemr.proto');
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('proto/kubemr.proto not found beside the kubemr package');
}

let cached: ProtoGrpcType | undefined;

export function loadProto(): ProtoGrpcType {
  if (!cached) {
    const def = protoLoader.loadSync(protoPath(), PROTO_LOADER_OPTIONS);
    cached = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  }
  return cached;
}

export type { CoordinatorClient } from './gen/kubemr/v1/Coordinator.js';
export type { CoordinatorHandlers } from './gen/kubemr/v1/Coordinator.js';
