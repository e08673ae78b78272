import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type * as S3 from '@aws-sdk/client-s3';
import { ToilError, routeAwsSdkNodeNotice, silentHost, type IoHost } from '@toil/core';
import {
  JOBSTORE_FORMAT_VERSION,
  type DestroyReport,
  type FileId,
  type JobRecord,
  type JobStore,
  type JobStoreLocator,
  type JobWrite,
  type SharedFileName,
  type StatsRecord,
  type WorkflowConfig,
} from '@toil/jobstore';
import {
  JobRecordSchema,
  JobStoreBase,
  StatsRecordSchema,
  checkFileId,
  checkJobId,
  cleanupPrefix,
  corruptError,
  existsError,
  fileNotFoundError,
  forEachLimit,
  mapLimit,
  nextSeq,
  notFoundError,
  parseRecord,
  toLocatorOfKind,
  type StoreMarker,
} from '@toil/jobstore/backend';
import type { AwsJobStoreLocator } from './locator.js';

/** Options of {@link AwsJobStore}. */
export interface AwsJobStoreOptions {
  /** Where retries and destroy progress are reported. */
  host?: IoHost;
  /** Objects per ListObjectsV2 page (1–1000, default 1000). Tests lower it to exercise paging. */
  listPageSize?: number;
  /** Requests in flight for batch work (commit, listing reads, destroy). Default 16. */
  concurrency?: number;
  /** Use this S3 client instead of one built from the standard AWS SDK configuration chain. */
  client?: S3.S3Client;
}

/** The marker object a complete `aws:` store holds. */
const MARKER_KEY = 'jobstore.json';
const PART_SIZE = 8 * 1024 * 1024;
/** Versions collected per destroy pass before deleting them (bounds memory). */
const DESTROY_CHUNK = 50_000;

/** An object, or one version of it, to delete. */
type ObjectRef = { Key: string; VersionId?: string };

/** The store's marker object; `createdAt` in epoch seconds. */
type Marker = { format: number; kind: 'aws'; state: 'creating' | 'ready'; createdAt: number };

function errorName(error: unknown): string {
  return (error as { name?: string } | null)?.name ?? '';
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function isMissingKey(error: unknown): boolean {
  return ['NoSuchKey', 'NotFound'].includes(errorName(error)) || httpStatus(error) === 404;
}

function isMissingBucket(error: unknown): boolean {
  return errorName(error) === 'NoSuchBucket';
}

/**
 * The `aws:REGION:NAME` job store: one S3 bucket (`NAME--toil`) per store, keys by prefix (see
 * the package README). Credentials, region override and endpoint come from the standard AWS
 * SDK chain (env vars, profiles, `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`); throttling and
 * 5xx answers are retried with backoff by the SDK's standard retry strategy. The SDK is loaded
 * on first use.
 */
export class AwsJobStore extends JobStoreBase implements JobStore {
  readonly kind = 'aws' as const;
  /** AWS region from the locator. */
  readonly region: string;
  /** The bucket that holds the store. */
  readonly bucket: string;
  private readonly pageSize: number;
  private readonly concurrency: number;
  private clientPromise: Promise<{ client: S3.S3Client; sdk: typeof S3 }> | undefined;
  private readonly injectedClient: S3.S3Client | undefined;

  constructor(locator: string | JobStoreLocator, options: AwsJobStoreOptions = {}) {
    const parsed = toLocatorOfKind<AwsJobStoreLocator>(locator, 'aws', 'AwsJobStore');
    super(parsed.locator, options.host ?? silentHost);
    this.region = parsed.region;
    this.bucket = `${parsed.name}--toil`;
    this.pageSize = Math.min(1000, Math.max(1, options.listPageSize ?? 1000));
    this.concurrency = Math.max(1, options.concurrency ?? 16);
    this.injectedClient = options.client;
  }

  private where(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  private async s3(): Promise<{ client: S3.S3Client; sdk: typeof S3 }> {
    this.clientPromise ??= (async () => {
      if (!this.injectedClient) routeAwsSdkNodeNotice(this.host);
      const sdk = await import('@aws-sdk/client-s3');
      const client =
        this.injectedClient ??
        new sdk.S3Client({
          region: this.region,
          maxAttempts: Number(process.env.AWS_MAX_ATTEMPTS) || 8,
          retryMode: process.env.AWS_RETRY_MODE === 'adaptive' ? 'adaptive' : 'standard',
        });
      return { client, sdk };
    })();
    return this.clientPromise;
  }

  /** Turns an SDK failure into a ToilError (not found / missing bucket / I/O). */
  private fail(action: string, error: unknown): ToilError {
    if (ToilError.is(error)) return error;
    if (isMissingBucket(error)) return notFoundError(this.locator);
    const name = errorName(error);
    const detail = error instanceof Error ? error.message : String(error);
    const credentials = /credential|signature|AccessDenied|InvalidAccessKeyId|ExpiredToken/i.test(
      `${name} ${detail}`,
    );
    return new ToilError(
      'JOBSTORE_IO',
      `S3 request failed while ${action} (${this.locator}): ${name ? `${name}: ` : ''}${detail}`,
      {
        hint: credentials
          ? 'Check your AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID...) and their permissions on the bucket.'
          : 'Check the network and AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, then retry.',
        cause: error,
        data: { bucket: this.bucket },
      },
    );
  }

  private async getText(key: string, action: string): Promise<string | undefined> {
    const { client, sdk } = await this.s3();
    try {
      const answer = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return (await answer.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      if (isMissingKey(error) && !isMissingBucket(error)) return undefined;
      throw this.fail(action, error);
    }
  }

  private async putText(key: string, body: string | Uint8Array, action: string): Promise<void> {
    const { client, sdk } = await this.s3();
    try {
      await client.send(
        new sdk.PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
        }),
      );
    } catch (error) {
      throw this.fail(action, error);
    }
  }

  private async deleteKey(key: string, action: string): Promise<void> {
    const { client, sdk } = await this.s3();
    try {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      throw this.fail(action, error);
    }
  }

  /** Every key under `prefix`, one page at a time. */
  private async *listPages(prefix: string, pageSize = this.pageSize): AsyncGenerator<string[]> {
    const { client, sdk } = await this.s3();
    let token: string | undefined;
    do {
      let page: S3.ListObjectsV2CommandOutput;
      try {
        page = await client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            MaxKeys: pageSize,
            ContinuationToken: token,
          }),
        );
      } catch (error) {
        throw this.fail(`listing ${prefix}`, error);
      }
      const keys = (page.Contents ?? []).map((o) => o.Key).filter((k): k is string => !!k);
      if (keys.length > 0) yield keys;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * Deletes objects (or, with `VersionId`, object versions and delete markers) with batched
   * DeleteObjects: 1,000 a request, 4 requests in flight, what S3 reports as failed retried up
   * to 4 times. `onDeleted` hears of every batch done.
   */
  private async deleteObjects(
    objects: ObjectRef[],
    action: string,
    onDeleted?: (count: number) => void,
  ): Promise<void> {
    const { client, sdk } = await this.s3();
    const batches: ObjectRef[][] = [];
    for (let i = 0; i < objects.length; i += 1000) batches.push(objects.slice(i, i + 1000));
    const ref = (o: { Key?: string; VersionId?: string }): string =>
      `${o.Key}\0${o.VersionId ?? ''}`;
    await forEachLimit(batches, 4, async (batch) => {
      let pending = batch;
      for (let attempt = 0; pending.length > 0; attempt++) {
        let answer: S3.DeleteObjectsCommandOutput;
        try {
          answer = await client.send(
            new sdk.DeleteObjectsCommand({
              Bucket: this.bucket,
              Delete: { Objects: pending, Quiet: true },
            }),
          );
        } catch (error) {
          throw this.fail(action, error);
        }
        const failed = new Set((answer.Errors ?? []).map(ref));
        pending = pending.filter((o) => failed.has(ref(o)));
        if (pending.length > 0 && attempt >= 4)
          throw this.fail(
            action,
            new Error(
              `${pending.length} objects could not be deleted: ${answer.Errors?.[0]?.Code ?? 'unknown'}`,
            ),
          );
      }
      onDeleted?.(batch.length);
    });
  }

  // --- lifecycle ---------------------------------------------------------------------------

  protected async createStore(config: WorkflowConfig): Promise<void> {
    const { client, sdk } = await this.s3();
    try {
      await client.send(
        new sdk.CreateBucketCommand({
          Bucket: this.bucket,
          ...(this.region === 'us-east-1'
            ? {}
            : {
                CreateBucketConfiguration: {
                  LocationConstraint: this.region as S3.BucketLocationConstraint,
                },
              }),
        }),
      );
    } catch (error) {
      if (errorName(error) === 'BucketAlreadyExists')
        throw new ToilError(
          'JOBSTORE_IO',
          `The bucket ${this.bucket} of ${this.locator} belongs to another AWS account.`,
          { hint: 'Bucket names are global; pick another job store name.' },
        );
      // BucketAlreadyOwnedByYou: a concurrent creator, or an empty bucket left behind; the
      // conditional put of the marker below decides who wins.
      if (errorName(error) !== 'BucketAlreadyOwnedByYou')
        throw this.fail('creating the bucket', error);
    }
    const marker: Marker = {
      format: JOBSTORE_FORMAT_VERSION,
      kind: 'aws',
      state: 'creating',
      createdAt: Date.now() / 1000,
    };
    try {
      await client.send(
        new sdk.PutObjectCommand({
          Bucket: this.bucket,
          Key: MARKER_KEY,
          Body: JSON.stringify(marker),
          IfNoneMatch: '*',
        }),
      );
    } catch (error) {
      if (errorName(error) === 'PreconditionFailed' || httpStatus(error) === 412)
        throw existsError(this.locator);
      throw this.fail('creating the store marker', error);
    }
    await this.writeShared('config', JSON.stringify(config));
    await this.putText(
      MARKER_KEY,
      JSON.stringify({ ...marker, state: 'ready' } satisfies Marker),
      'completing creation',
    );
  }

  protected readMarker(): Promise<string | undefined> {
    return this.getText(MARKER_KEY, 'opening the store');
  }

  protected markerWhere(): string {
    return this.where(MARKER_KEY);
  }

  protected override async checkComplete(): Promise<StoreMarker> {
    const marker = await super.checkComplete();
    if (marker.state !== 'ready')
      throw corruptError(
        this.markerWhere(),
        'the store is half-created (creation was interrupted or is still running)',
      );
    return marker;
  }

  async exists(): Promise<boolean> {
    const { client, sdk } = await this.s3();
    try {
      await client.send(new sdk.HeadBucketCommand({ Bucket: this.bucket }));
      return true;
    } catch (error) {
      if (isMissingKey(error) || isMissingBucket(error)) return false;
      throw this.fail('checking the bucket', error);
    }
  }

  async destroy(host: IoHost = this.host): Promise<DestroyReport> {
    const target = `bucket ${this.bucket}`;
    if (!(await this.exists())) return { existed: false, deleted: 0, target };
    const { client, sdk } = await this.s3();
    const span = this.startDestroySpan(host);
    let deleted = 0;
    try {
      // Incomplete multipart uploads first: they hold storage and block nothing else.
      let keyMarker: string | undefined;
      let uploadMarker: string | undefined;
      do {
        const page = await client.send(
          new sdk.ListMultipartUploadsCommand({
            Bucket: this.bucket,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadMarker,
          }),
        );
        await forEachLimit(page.Uploads ?? [], this.concurrency, async (upload) => {
          await client.send(
            new sdk.AbortMultipartUploadCommand({
              Bucket: this.bucket,
              Key: upload.Key,
              UploadId: upload.UploadId,
            }),
          );
        });
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        uploadMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);
      // Every object (and, in a bucket that ever had versioning, every version and delete
      // marker). Passes repeat until a listing comes back empty, so that what a pass did not
      // reach (or a concurrent writer added) is deleted too.
      const versioning = await client.send(
        new sdk.GetBucketVersioningCommand({ Bucket: this.bucket }),
      );
      let versioned = versioning.Status === 'Enabled' || versioning.Status === 'Suspended';
      const onDeleted = (n: number): void => {
        deleted += n;
        span.progress(deleted, `Deleted ${deleted} objects`);
      };
      for (let attempt = 0; ; attempt++) {
        for (let pass = 0; ; pass++) {
          const found = versioned
            ? await this.deleteAllVersionsOnce(client, sdk, onDeleted)
            : await this.deleteAllObjectsOnce(onDeleted);
          if (found === 0) break;
          if (pass >= 20) throw new Error('objects keep appearing in the bucket while deleting it');
        }
        try {
          await client.send(new sdk.DeleteBucketCommand({ Bucket: this.bucket }));
          break;
        } catch (error) {
          // Versions left by a versioning change we did not see: delete them too.
          if (errorName(error) !== 'BucketNotEmpty' || attempt >= 1) throw error;
          versioned = true;
        }
      }
    } catch (error) {
      // Raw SDK errors, or ToilErrors of the helpers (which turn NoSuchBucket into NOT_FOUND).
      if (isMissingBucket(error) || (ToilError.is(error) && error.code === 'JOBSTORE_NOT_FOUND')) {
        span.end(`Job store ${this.locator} was deleted concurrently`, { data: { deleted } });
        return { existed: true, deleted, target };
      }
      span.end(`Failed to delete ${this.locator}`, { ok: false });
      throw this.fail('deleting the store', error);
    }
    span.end(`Deleted job store ${this.locator} (${deleted} objects)`, { data: { deleted } });
    return { existed: true, deleted, target };
  }

  /** One pass over current objects (unversioned bucket): list a chunk, delete it. */
  private async deleteAllObjectsOnce(onDeleted: (count: number) => void): Promise<number> {
    const keys: string[] = [];
    for await (const page of this.listPages('', 1000)) {
      keys.push(...page);
      if (keys.length >= DESTROY_CHUNK) break;
    }
    await this.deleteObjects(
      keys.map((Key) => ({ Key })),
      'deleting the store',
      onDeleted,
    );
    return keys.length;
  }

  /**
   * One pass: lists versions and delete markers (up to {@link DESTROY_CHUNK} of them, without
   * deleting while listing, since some S3 implementations lose their place when the marker
   * key is deleted), then deletes them in batches of 1000 with 4 batches in flight.
   * Resolves to how many it found; the caller repeats until a pass finds nothing.
   */
  private async deleteAllVersionsOnce(
    client: S3.S3Client,
    sdk: typeof S3,
    onDeleted: (count: number) => void,
  ): Promise<number> {
    const objects: ObjectRef[] = [];
    let versionKey: string | undefined;
    let versionId: string | undefined;
    do {
      const page = await client.send(
        new sdk.ListObjectVersionsCommand({
          Bucket: this.bucket,
          KeyMarker: versionKey,
          VersionIdMarker: versionId,
          MaxKeys: 1000,
        }),
      );
      for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])])
        if (v.Key) objects.push({ Key: v.Key, VersionId: v.VersionId });
      versionKey = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionId = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (versionKey && objects.length < DESTROY_CHUNK);
    await this.deleteObjects(objects, 'deleting the store', onDeleted);
    return objects.length;
  }

  // --- jobs --------------------------------------------------------------------------------

  private jobKey(id: string): string {
    checkJobId(id);
    return `jobs/${id}.json`;
  }

  protected async writeJobs(writes: readonly JobWrite[]): Promise<void> {
    // The last write of a job wins, as it would applied in order.
    const last = new Map<string, JobWrite>();
    for (const write of writes) last.set(write.op === 'put' ? write.record.id : write.id, write);
    const deleted: string[] = [];
    await forEachLimit(last.entries(), this.concurrency, async ([id, write]) => {
      if (write.op === 'put')
        await this.putText(this.jobKey(id), JSON.stringify(write.record), `writing job ${id}`);
      else {
        await this.deleteKey(this.jobKey(id), `deleting job ${id}`);
        deleted.push(id);
      }
    });
    for (const id of deleted) {
      const keys: string[] = [];
      for await (const page of this.listPages(cleanupPrefix(id))) keys.push(...page);
      await this.deleteObjects(
        keys.map((Key) => ({ Key })),
        `deleting the files of job ${id}`,
      );
    }
  }

  async tryLoadJob(id: string): Promise<JobRecord | undefined> {
    const key = this.jobKey(id);
    const text = await this.getText(key, `reading job ${id}`);
    if (text === undefined) return undefined;
    return parseRecord(JobRecordSchema, text, this.where(key));
  }

  async jobExists(id: string): Promise<boolean> {
    const key = this.jobKey(id);
    const { client, sdk } = await this.s3();
    try {
      await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (error) {
      if (isMissingKey(error) && !isMissingBucket(error)) {
        // HEAD answers have no body, so a missing bucket also looks like a plain 404.
        if (!(await this.exists())) throw notFoundError(this.locator);
        return false;
      }
      throw this.fail(`checking job ${id}`, error);
    }
  }

  async *listJobIds(): AsyncIterable<string> {
    for await (const keys of this.listPages('jobs/'))
      for (const key of keys) if (key.endsWith('.json')) yield key.slice(5, -5);
  }

  async *listJobs(): AsyncIterable<JobRecord> {
    for await (const keys of this.listPages('jobs/')) {
      const records = await mapLimit(keys, this.concurrency, async (key) => {
        const text = await this.getText(key, `reading ${key}`);
        // Deleted between the listing and the read: the job finished meanwhile.
        return text === undefined ? undefined : parseRecord(JobRecordSchema, text, this.where(key));
      });
      for (const record of records) if (record) yield record;
    }
  }

  // --- files -------------------------------------------------------------------------------

  protected async storeFile(
    key: string,
    body: Readable | AsyncIterable<Uint8Array>,
  ): Promise<void> {
    const { client } = await this.s3();
    const { Upload } = await import('@aws-sdk/lib-storage');
    const stream = body instanceof Readable ? body : Readable.from(body);
    const upload = new Upload({
      client,
      params: { Bucket: this.bucket, Key: key, Body: stream },
      partSize: PART_SIZE,
      queueSize: 4,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      throw this.fail(`uploading ${key}`, error);
    }
  }

  async readFile(id: FileId, localPath: string): Promise<void> {
    const stream = await this.readFileStream(id);
    try {
      await pipeline(stream, createWriteStream(localPath));
    } catch (error) {
      throw this.fail(`downloading ${id} to ${localPath}`, error);
    }
  }

  async readFileStream(id: FileId): Promise<Readable> {
    checkFileId(id);
    const { client, sdk } = await this.s3();
    try {
      const answer = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: id }));
      return answer.Body as Readable;
    } catch (error) {
      if (isMissingKey(error) && !isMissingBucket(error)) throw fileNotFoundError(id);
      throw this.fail(`reading ${id}`, error);
    }
  }

  async deleteFile(id: FileId): Promise<void> {
    checkFileId(id);
    await this.deleteKey(id, `deleting ${id}`);
  }

  private async head(id: FileId): Promise<number | undefined> {
    checkFileId(id);
    const { client, sdk } = await this.s3();
    try {
      const answer = await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: id }));
      return answer.ContentLength ?? 0;
    } catch (error) {
      if (isMissingKey(error)) return undefined;
      throw this.fail(`checking ${id}`, error);
    }
  }

  async fileExists(id: FileId): Promise<boolean> {
    return (await this.head(id)) !== undefined;
  }

  async fileSize(id: FileId): Promise<number> {
    const size = await this.head(id);
    if (size === undefined) throw fileNotFoundError(id);
    return size;
  }

  // --- shared files ------------------------------------------------------------------------

  protected async writeShared(name: SharedFileName, data: string | Uint8Array): Promise<void> {
    await this.putText(`shared/${name}`, data, `writing shared file ${name}`);
  }

  protected async readShared(name: SharedFileName): Promise<Buffer | undefined> {
    const { client, sdk } = await this.s3();
    try {
      const answer = await client.send(
        new sdk.GetObjectCommand({ Bucket: this.bucket, Key: `shared/${name}` }),
      );
      return Buffer.from((await answer.Body?.transformToByteArray()) ?? new Uint8Array());
    } catch (error) {
      if (isMissingKey(error) && !isMissingBucket(error)) return undefined;
      throw this.fail(`reading shared file ${name}`, error);
    }
  }

  protected async removeShared(name: SharedFileName): Promise<void> {
    await this.deleteKey(`shared/${name}`, `deleting shared file ${name}`);
  }

  protected sharedWhere(name: SharedFileName): string {
    return this.where(`shared/${name}`);
  }

  // --- stats -------------------------------------------------------------------------------

  protected async appendValidStats(record: StatsRecord): Promise<void> {
    const name = `${String(nextSeq()).padStart(17, '0')}-${randomBytes(4).toString('hex')}.json`;
    await this.putText(`stats/unread/${name}`, JSON.stringify(record), 'appending stats');
  }

  async *readStats(options: { unreadOnly?: boolean } = {}): AsyncIterable<StatsRecord> {
    const { client, sdk } = await this.s3();
    const prefixes = options.unreadOnly ? ['stats/unread/'] : ['stats/read/', 'stats/unread/'];
    // A record copied to read/ whose unread/ twin a crash left behind is the same record.
    const seen = new Set<string>();
    // Delivered counts as read, also when the consumer stops right after it.
    let delivered: string | undefined;
    const markRead = async (key: string): Promise<void> => {
      const name = key.slice('stats/unread/'.length);
      try {
        await client.send(
          new sdk.CopyObjectCommand({
            Bucket: this.bucket,
            Key: `stats/read/${name}`,
            CopySource: `${this.bucket}/${key}`,
          }),
        );
      } catch (error) {
        throw this.fail(`marking ${key} read`, error);
      }
      await this.deleteKey(key, `marking ${key} read`);
    };
    try {
      for (const prefix of prefixes) {
        for await (const keys of this.listPages(prefix)) {
          const fresh = keys.filter((k) => !seen.has(k.slice(prefix.length)));
          const texts = await mapLimit(fresh, this.concurrency, (key) =>
            this.getText(key, `reading ${key}`),
          );
          for (let i = 0; i < fresh.length; i++) {
            const key = fresh[i]!;
            const text = texts[i];
            if (text === undefined) continue;
            const name = key.slice(prefix.length);
            seen.add(name);
            const record = parseRecord(StatsRecordSchema, text, this.where(key));
            if (options.unreadOnly) delivered = key;
            yield record;
            if (delivered) await markRead(delivered);
            delivered = undefined;
          }
        }
      }
    } finally {
      if (delivered) await markRead(delivered);
    }
  }

  async close(): Promise<void> {
    if (this.clientPromise) (await this.clientPromise).client.destroy();
    this.clientPromise = undefined;
  }
}
