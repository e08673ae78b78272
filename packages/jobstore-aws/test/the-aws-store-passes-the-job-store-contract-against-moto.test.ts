import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { RecordingHost, ToilError } from '@toil/core';
import { openJobStore } from '@toil/jobstore';
import { describeJobStoreContract, sampleConfig, sampleJob } from '@toil/jobstore/testing';
import { useMotoStoreEnv } from '../../../tooling/test-env/moto.js';

const REGION = 'us-west-2';
const run = randomBytes(3).toString('hex');
let counter = 0;
const moto = useMotoStoreEnv('the aws: job store suites');

function client(): S3Client {
  // The same standard chain as the store: useMotoStoreEnv put endpoint and credentials in the env.
  return new S3Client({ region: REGION });
}

moto.describe('aws: store against moto on 127.0.0.1', () => {
  describeJobStoreContract('aws: (moto)', {
    newLocator: () => `aws:${REGION}:ctest-${run}-${++counter}`,
    // Small pages, so that listing really walks many pages: 2,050 jobs are five pages of 500.
    // (The default 10,050 puts one S3 object per job: over 300 s against moto on a busy CI.)
    open: (locator) => openJobStore(locator, { listPageSize: 500 }),
    listingJobs: 2_050,
    async overwriteJobRecord(locator, jobId, content) {
      const bucket = `${locator.split(':')[2]}--toil`;
      const key = `jobs/${jobId}.json`;
      const s3 = client();
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: content }));
      s3.destroy();
      return `s3://${bucket}/${key}`;
    },
    async halfCreate(locator) {
      const s3 = client();
      await s3.send(
        new CreateBucketCommand({
          Bucket: `${locator.split(':')[2]}--toil`,
          CreateBucketConfiguration: { LocationConstraint: REGION },
        }),
      );
      s3.destroy();
    },
  });
});

moto.describe('aws: store specifics', () => {
  it('destroys versions, delete markers and incomplete multipart uploads, then the bucket', async () => {
    const locator = `aws:${REGION}:specific-${run}-1`;
    const store = await openJobStore(locator);
    await store.create(sampleConfig());
    await store.commit([{ op: 'put', record: sampleJob('versioned') }]);
    const bucket = `specific-${run}-1--toil`;
    const s3 = client();
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: bucket,
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    for (let i = 0; i < 3; i++)
      await store.commit([{ op: 'put', record: sampleJob('versioned', { version: i }) }]);
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'jobs/versioned.json' }));
    const upload = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'files/no-job/partial' }),
    );
    await s3.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: 'files/no-job/partial',
        UploadId: upload.UploadId,
        PartNumber: 1,
        Body: Buffer.alloc(5 * 1024 * 1024),
      }),
    );
    const pending = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(pending.Uploads).toHaveLength(1);
    const host = new RecordingHost();
    const report = await store.destroy(host);
    expect(report).toMatchObject({ existed: true, target: `bucket ${bucket}` });
    // marker, config, 4 job versions and the delete marker at least
    expect(report.deleted).toBeGreaterThanOrEqual(7);
    expect(host.withCode('JOBSTORE_DESTROY').at(-1)?.span?.ok).toBe(true);
    await expect(s3.send(new HeadBucketCommand({ Bucket: bucket }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    expect(await store.exists()).toBe(false);
    s3.destroy();
    await store.close();
  });

  it('reports a bad endpoint as JOBSTORE_IO with a hint, not a crash', async () => {
    const previous = process.env.AWS_ENDPOINT_URL_S3;
    process.env.AWS_ENDPOINT_URL_S3 = 'http://127.0.0.1:9';
    process.env.AWS_MAX_ATTEMPTS = '1';
    try {
      const store = await openJobStore(`aws:${REGION}:unreachable-${run}`);
      let caught: unknown;
      try {
        await store.resume();
      } catch (error) {
        caught = error;
      }
      expect(ToilError.is(caught)).toBe(true);
      expect((caught as ToilError).code).toBe('JOBSTORE_IO');
      expect((caught as ToilError).hint).toMatch(/AWS_ENDPOINT_URL/);
      await store.close();
    } finally {
      process.env.AWS_ENDPOINT_URL_S3 = previous;
      delete process.env.AWS_MAX_ATTEMPTS;
    }
  });
});
