import { z } from 'zod';
import type { SharedFileName } from './contract.js';
import {
  JobStoreSummarySchema,
  LeaderInfoSchema,
  OutcomeSchema,
  type JobStoreSummary,
  type LeaderInfo,
  type Outcome,
} from './records.js';
import { parseRecord, validateRecord } from './validate.js';

/** Raw shared-file access a backend provides to {@link SharedFiles}. */
export interface SharedFileAccess {
  read(name: SharedFileName): Promise<Buffer | undefined>;
  write(name: SharedFileName, data: string): Promise<void>;
  remove(name: SharedFileName): Promise<void>;
  /** Where the shared file lives, for error messages (path or key). */
  where(name: SharedFileName): string;
}

const RootJobIdSchema = z.object({ id: z.string().min(1) });
const KillFlagSchema = z.object({ kill: z.boolean() });
const ReturnValueSchema = z.object({ value: z.unknown() });

/**
 * The typed shared files every backend stores the same way: JSON documents validated on
 * read (`JOBSTORE_CORRUPT` naming the file or key when damaged).
 */
export class SharedFiles {
  constructor(private readonly access: SharedFileAccess) {}

  private async get<T extends z.ZodType>(
    name: SharedFileName,
    schema: T,
  ): Promise<z.infer<T> | undefined> {
    const data = await this.access.read(name);
    if (data === undefined) return undefined;
    return parseRecord(schema, data.toString('utf8'), this.access.where(name));
  }

  private put<T extends z.ZodType>(name: SharedFileName, schema: T, value: unknown): Promise<void> {
    const checked = validateRecord(schema, value, `new ${name}`);
    return this.access.write(name, JSON.stringify(checked));
  }

  /** See {@link JobStore.setRootJobId}. */
  setRootJobId(id: string): Promise<void> {
    return this.put('root-job-id', RootJobIdSchema, { id });
  }
  /** See {@link JobStore.getRootJobId}. */
  async getRootJobId(): Promise<string | undefined> {
    return (await this.get('root-job-id', RootJobIdSchema))?.id;
  }
  /** See {@link JobStore.setRootReturnValue}. */
  setRootReturnValue(value: unknown): Promise<void> {
    return this.access.write('root-return-value', JSON.stringify({ value }));
  }
  /** See {@link JobStore.getRootReturnValue}. */
  async getRootReturnValue(): Promise<unknown> {
    return (await this.get('root-return-value', ReturnValueSchema))?.value;
  }
  /** See {@link JobStore.setLeader}. */
  setLeader(info: LeaderInfo): Promise<void> {
    return this.put('leader', LeaderInfoSchema, info);
  }
  /** See {@link JobStore.getLeader}. */
  getLeader(): Promise<LeaderInfo | undefined> {
    return this.get('leader', LeaderInfoSchema);
  }
  /** See {@link JobStore.setKillFlag}. */
  async setKillFlag(kill: boolean): Promise<void> {
    if (kill) await this.put('kill-flag', KillFlagSchema, { kill });
    else await this.access.remove('kill-flag');
  }
  /** See {@link JobStore.getKillFlag}. */
  async getKillFlag(): Promise<boolean> {
    return (await this.get('kill-flag', KillFlagSchema))?.kill ?? false;
  }
  /** See {@link JobStore.setOutcome}. */
  async setOutcome(outcome: Outcome | undefined): Promise<void> {
    if (outcome === undefined) await this.access.remove('outcome');
    else await this.put('outcome', OutcomeSchema, outcome);
  }
  /** See {@link JobStore.getOutcome}. */
  getOutcome(): Promise<Outcome | undefined> {
    return this.get('outcome', OutcomeSchema);
  }
  /** See {@link JobStore.writeSummary}. */
  writeSummary(summary: JobStoreSummary): Promise<void> {
    return this.put('summary', JobStoreSummarySchema, summary);
  }
  /** See {@link JobStore.readSummary}. */
  readSummary(): Promise<JobStoreSummary | undefined> {
    return this.get('summary', JobStoreSummarySchema);
  }
}
