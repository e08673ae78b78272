import type { JobRecord } from '@toil/jobstore';

/**
 * The record of a job about to be handed to a batch system: state `running`, version + 1.
 * Its JSON is what the worker gets, so the worker's completion record is the next version.
 * The batch id is set once the batch system accepted the attempt ({@link withBatchId}).
 */
export function toRunning(recordJson: string): JobRecord {
  const record = JSON.parse(recordJson) as JobRecord;
  return { ...record, state: 'running', version: record.version + 1 };
}

/** `record` with the batch-system id of its current attempt. */
export function withBatchId(record: JobRecord, batchId: string): JobRecord {
  return { ...record, batchId };
}
