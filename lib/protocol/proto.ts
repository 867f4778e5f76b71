import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { ProtoGrpcType } from './gen/kubemr.js';

/**
 * How messages convert to and from plain objects: must match the flags of `npm run gen:proto`
 * (longs as numbers, enums as their names, absent fields as their defaults, the name of the set
 * field of each oneof), or the generated types lie.
 */
const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, oneofs: true };

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

/**
 * The gRPC definition of one service: for each method its path and the functions that turn a
 * plain object into bytes and back. @grpc/proto-loader builds the same, and more: it also loads
 * protobuf's own descriptor schema and encodes a descriptor of every message for reflection,
 * which nothing here uses and which cost every process (the CLI, each worker and its heartbeat
 * thread) some 30 ms of its start.
 */
function serviceDefinition(service: protobuf.Service): grpc.ServiceDefinition {
  const serialize = (type: protobuf.Type) => (value: object) => {
    // A Buffer already under Node (protobufjs's BufferWriter); viewed, not copied, otherwise.
    const bytes = type.encode(type.fromObject(value)).finish();
    return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
  const deserialize = (type: protobuf.Type) => (bytes: Buffer) => type.toObject(type.decode(bytes), TO_OBJECT);
  const definition: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const method of service.methodsArray) {
    const req = method.resolvedRequestType!;
    const res = method.resolvedResponseType!;
    definition[method.name] = {
      path: `/${service.fullName.slice(1)}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: serialize(req),
      requestDeserialize: deserialize(req),
      responseSerialize: serialize(res),
      responseDeserialize: deserialize(res),
      // The client's method names: requestTask beside RequestTask.
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
  }
  return definition;
}

let cached: ProtoGrpcType | undefined;

/** The coordinator service, from proto/kubemr.proto (field names in camelCase). */
export function loadProto(): ProtoGrpcType {
  if (!cached) {
    const root = protobuf.loadSync(protoPath());
    root.resolveAll();
    const service = root.lookupService('kubemr.v1.Coordinator');
    const Coordinator = grpc.makeGenericClientConstructor(serviceDefinition(service), 'Coordinator');
    cached = { kubemr: { v1: { Coordinator } } } as unknown as ProtoGrpcType;
  }
  return cached;
}

export type { CoordinatorClient } from './gen/kubemr/v1/Coordinator.js';
export type { CoordinatorHandlers } from './gen/kubemr/v1/Coordinator.js';
