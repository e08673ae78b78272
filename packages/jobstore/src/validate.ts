import type { z } from 'zod';
import { corruptError, incompatibleError } from './errors.js';

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
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw corruptError(
      where,
      text.length === 0 ? 'it is empty' : 'it is truncated or not JSON',
      error,
    );
  }
  return validateRecord(schema, value, where);
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
