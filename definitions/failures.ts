import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';

/** Failure types a runbook author or the workflow engine may see on a step. */
export type FailureType =
  | 'MissingEnvironment'
  | 'InvalidTarget'
  | 'InvalidInput'
  | 'CheckFailed'
  | 'QueryFailed'
  | 'PromoteFailed'
  | 'DumpFailed'
  | 'RestoreFailed'
  | 'DatabaseExists'
  | 'BackupMissing'
  | 'CertificateExpiring'
  | 'ConfigInvalid'
  | 'NotFound'
  | 'InvalidCapacity'
  | 'AwsRequestFailed'
  | 'HealthCheckFailed'
  | 'SlackRejected'
  | 'NoBackup'
  | 'ManifestInvalid'
  | 'StoreFailed'
  | 'ChecksumMismatch'
  | 'VerificationFailed'
  | 'BackupExists'
  | 'AuditConflict'
  | 'NoApprover'
  | 'NotAllowed'
  | 'Unhealthy'
  | 'NotConfirmed'
  | 'NotInService'
  | 'Conflict'
  | 'FenceFailed'
  | 'NotImplemented'
  | 'FlagFailed'
  | 'EvidenceMissing';

/** A failure that retrying cannot fix: the step fails at once with this message. */
export function businessFailure(message: string, type: FailureType, cause?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ message, type, nonRetryable: true, cause: cause instanceof Error ? cause : undefined });
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
]);

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/** Connection refused, reset, timed out, aborted by a timeout: worth another attempt. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return true;
  const code = errorCode(error);
  if (code !== undefined && TRANSIENT_CODES.has(code)) return true;
  return error.cause !== undefined && error.cause !== error && isTransient(error.cause);
}

/** The innermost useful message: fetch's "fetch failed" hides the reason in `cause`. */
export function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message === 'fetch failed' && error.cause !== undefined) return reason(error.cause);
  if (error.name === 'TimeoutError') return 'timed out';
  return error.message;
}

/**
 * Rethrows `error` with `context` in front: a plain Error (Temporal retries) when transient,
 * otherwise a non-retryable failure of `type`. ApplicationFailures pass through unchanged.
 */
export function rethrow(error: unknown, context: string, type: FailureType): never {
  if (error instanceof ApplicationFailure) throw error;
  if (isTransient(error)) throw new Error(`${context}: ${reason(error)}`, { cause: error });
  throw businessFailure(`${context}: ${reason(error)}`, type, error);
}

const AwsError = z.object({ name: z.string(), $fault: z.enum(['client', 'server']).optional() });
const TRANSIENT = /Throttl|SlowDown|RequestTimeout|PriorRequestNotComplete|RequestLimitExceeded/;

/** What AWS answered: its error name, and whether asking again may help; undefined when AWS did not answer. */
export function awsRefusal(error: unknown): { name: string; message: string; transient: boolean; refused: boolean } | undefined {
  const parsed = AwsError.safeParse(error);
  if (!parsed.success || !(error instanceof Error)) return undefined;
  const { name, $fault: fault } = parsed.data;
  const transient = fault === 'server' || TRANSIENT.test(name);
  return { name, message: error.message, transient, refused: !transient && fault === 'client' };
}
