import { credentials, Metadata, status as GrpcStatus, Client as GrpcClient, type ServiceError } from '@grpc/grpc-js';
import protobuf from 'protobufjs/light.js';
import type { Config } from '../config/env.ts';
import { StackUnavailable } from './errors.ts';
import descriptor from './temporal-reads.json' with { type: 'json' };

/**
 * The two reads a CLI command makes most, against Temporal's frontend over plain gRPC: a workflow
 * query and the server's version. The full Temporal client loads every message type of the
 * Temporal API first (about 200 ms); these calls need a dozen (`runtime/temporal-reads.json`,
 * written by scripts/temporal-read-protos.mjs). Everything else uses the Temporal client.
 */
export interface TemporalReads {
  /** The query's answer, or undefined when the namespace has no such workflow. */
  query<T>(workflowId: string, queryType: string): Promise<T | undefined>;
  serverVersion(): Promise<string>;
  close(): void;
}

const root = protobuf.Root.fromJSON(descriptor);
const SERVICE = '/temporal.api.workflowservice.v1.WorkflowService/';
const TIMEOUT_MS = 10_000;
const UNREACHABLE = new Set([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED]);

interface Payload {
  metadata?: Record<string, Uint8Array>;
  data?: Uint8Array;
}

/** A payload of Temporal's default converter: JSON, or binary/null for undefined. */
export function fromPayload(payload: Payload | undefined): unknown {
  const encoding = Buffer.from(payload?.metadata?.encoding ?? []).toString();
  if (encoding === 'binary/null' || payload === undefined) return undefined;
  if (encoding !== 'json/plain') throw new Error(`the query answered with a ${encoding || 'unnamed'} payload; only json/plain is read here`);
  return JSON.parse(Buffer.from(payload.data ?? []).toString('utf8'));
}

export function connectTemporalReads(config: Config, address: string): TemporalReads {
  const secure = config.temporal.tls || config.temporal.apiKey !== undefined;
  const client = new GrpcClient(address, secure ? credentials.createSsl() : credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set('temporal-namespace', config.temporal.namespace);
  if (config.temporal.apiKey) metadata.set('authorization', `Bearer ${config.temporal.apiKey}`);

  function call<T>(method: string, request: object): Promise<T> {
    const requestType = root.lookupType(`temporal.api.workflowservice.v1.${method}Request`);
    const responseType = root.lookupType(`temporal.api.workflowservice.v1.${method}Response`);
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        `${SERVICE}${method}`,
        (value: object) => Buffer.from(requestType.encode(requestType.fromObject(value)).finish()),
        (bytes: Buffer) => responseType.toObject(responseType.decode(bytes), { defaults: false }) as T,
        request,
        metadata,
        { deadline: Date.now() + TIMEOUT_MS },
        (error: ServiceError | null, answer?: T) => (error ? reject(error) : resolve(answer as T)),
      );
    });
  }
  const unreachable = (error: ServiceError) => new StackUnavailable(`cannot reach Temporal at ${address}: ${error.details || error.message}`);

  return {
    async query<T>(workflowId: string, queryType: string) {
      try {
        const answer = await call<{ queryResult?: { payloads?: Payload[] }; queryRejected?: { status?: number } }>('QueryWorkflow', {
          namespace: config.temporal.namespace, execution: { workflowId }, query: { queryType },
        });
        if (answer.queryRejected) throw new Error(`Temporal rejected the ${queryType} query of ${workflowId}`);
        return fromPayload(answer.queryResult?.payloads?.[0]) as T;
      } catch (error) {
        const grpc = error as ServiceError;
        if (grpc.code === GrpcStatus.NOT_FOUND) return undefined;
        if (UNREACHABLE.has(grpc.code)) throw unreachable(grpc);
        throw error;
      }
    },
    async serverVersion() {
      const answer = await call<{ serverVersion?: string }>('GetSystemInfo', {}).catch((error: ServiceError) => {
        throw UNREACHABLE.has(error.code) ? unreachable(error) : error;
      });
      return answer.serverVersion || 'unknown';
    },
    close: () => client.close(),
  };
}
