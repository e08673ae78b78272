import { ToilError } from '@toil/core';
import type { z } from 'zod';
import type { JobWrite } from './contract.js';
import { corruptError, incompatibleError } from './errors.js';
import { checkJobId } from './ids.js';
import { JOBSTORE_FORMAT_VERSION, type WorkflowConfig } from './records.js';
import { isPlainJobRecord, isPlainWorkflowConfig } from './record-checks.js';

/** The zod schemas of every record (`schemas.ts`), as {@link recordSchemas} gives them. */
export type RecordSchemas = typeof import('./schemas.js');

let schemas: Promise<RecordSchemas> | undefined;

/**
 * The record schemas, loading them (and zod) on the first call. Stores call it when they
 * first read or write a record, so that importing `@toil/jobstore` does not load zod: it is
 * most of the package's import time.
 */
export function recordSchemas(): Promise<RecordSchemas> {
  return (schemas ??= import('./schemas.js'));
}

/**
 * Parses JSON text and validates it against a schema. Not JSON / wrong shape throws
 * `JOBSTORE_CORRUPT` naming `where`; a record whose `v`/`format` is another number throws
 * `JOBSTORE_INCOMPATIBLE`.
 */
export function parseRecord<T extends z.ZodType>(
  schema: T,
  text: string,
  where: string,
): z.infer<T> {
  return validateRecord(schema, parseJson(text, where), where);
}

/** `JSON.parse`, with text that is empty, truncated or not JSON as `JOBSTORE_CORRUPT` naming `where`. */
export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw corruptError(
      where,
      text.length === 0 ? 'it is empty' : 'it is truncated or not JSON',
      error,
    );
  }
}

/** Validates an already parsed value; see {@link parseRecord}. */
export function validateRecord<T extends z.ZodType>(
  schema: T,
  value: unknown,
  where: string,
): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  if (typeof value === 'object' && value !== null) {
    const version =
      (value as { v?: unknown; format?: unknown }).v ?? (value as { format?: unknown }).format;
    if (typeof version === 'number' && version !== 1) throw incompatibleError(where, version);
  }
  const issue = result.error.issues[0];
  const path = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  throw corruptError(where, `${issue?.message ?? 'invalid content'}${path}`);
}

/** A config passed in by a caller, validated: `INVALID_ARGUMENT` naming the first problem. */
export async function validateConfigInput(config: WorkflowConfig): Promise<WorkflowConfig> {
  // zod only when the config does not pass the hand check.
  if (isPlainWorkflowConfig(config)) return config;
  const { WorkflowConfigSchema } = await recordSchemas();
  const result = WorkflowConfigSchema.safeParse(config);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ToilError(
      'INVALID_ARGUMENT',
      `Invalid workflow config: ${issue?.message ?? 'invalid'}${issue?.path.length ? ` at ${issue.path.join('.')}` : ''}.`,
      { hint: 'Build the config with the workflow package, which fills every field.' },
    );
  }
  return result.data;
}

/**
 * The writes of a commit, validated before any is stored: records against the schema, ids as
 * job ids; an unknown write is `INVALID_ARGUMENT`. Keeps their order.
 */
export async function validateJobWrites(writes: readonly JobWrite[]): Promise<JobWrite[]> {
  // zod only when a record does not pass the hand check.
  const schemas = writes.every((write) => write.op !== 'put' || isPlainJobRecord(write.record))
    ? undefined
    : await recordSchemas();
  return writes.map((write): JobWrite => {
    if (write.op === 'put') {
      const record = schemas
        ? validateRecord(schemas.JobRecordSchema, write.record, `job ${write.record?.id}`)
        : write.record;
      checkJobId(record.id);
      return { op: 'put', record };
    }
    if (write.op === 'delete') {
      checkJobId(write.id);
      return write;
    }
    throw new ToilError('INVALID_ARGUMENT', `Unknown job write ${JSON.stringify(write)}.`, {
      hint: "A JobWrite is {op:'put', record} or {op:'delete', id}.",
    });
  });
}

/** The marker object of a complete store: its format, and backend-specific fields. */
export type StoreMarker = { format: number } & Record<string, unknown>;

/**
 * Parses a store's marker: not JSON or without a format version is `JOBSTORE_CORRUPT` naming
 * `where`; another format version is `JOBSTORE_INCOMPATIBLE` naming the store.
 */
export function parseStoreMarker(text: string, where: string, locator: string): StoreMarker {
  const value = parseJson(text, where);
  const format = (value as { format?: unknown } | null)?.format;
  if (typeof format === 'number' && format !== JOBSTORE_FORMAT_VERSION)
    throw new ToilError(
      'JOBSTORE_INCOMPATIBLE',
      `The job store ${locator} has format ${format}, this toil reads format ${JOBSTORE_FORMAT_VERSION}.`,
      { hint: 'Use the toil version that wrote this job store, or remove it with `toil clean`.' },
    );
  if (format !== JOBSTORE_FORMAT_VERSION) throw corruptError(where, 'it has no format version');
  return value as StoreMarker;
}
