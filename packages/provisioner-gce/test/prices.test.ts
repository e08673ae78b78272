import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordingHost } from '@toil/core';
import { createProvisioner } from '@toil/provisioner-gce';
import { startGceFake, type GceFake } from '../../../tooling/test-env/gce-fake.js';

// Prices come from the Cloud Billing Catalog API (the GCE fake serves Compute Engine's SKUs),
// read with the same credentials as the Compute Engine API, at TOIL_GCE_BILLING_ENDPOINT.

let fake: GceFake;
let dir: string;
let env: NodeJS.ProcessEnv;
const savedEnv = { ...process.env };
process.env.METADATA_SERVER_DETECTION = 'none';

beforeAll(async () => {
  fake = await startGceFake();
  dir = mkdtempSync(join(tmpdir(), 'provisioner-gce-prices-'));
  env = {
    ...process.env,
    ...fake.writeCredentials(dir),
    TOIL_GCE_ENDPOINT: fake.endpoint,
    TOIL_GCE_BILLING_ENDPOINT: fake.endpoint,
    GOOGLE_CLOUD_PROJECT: fake.project,
  };
});

afterAll(async () => {
  process.env = savedEnv;
  await fake.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('machine type prices from the Cloud Billing Catalog', () => {
  it("price a machine type's vCPUs and memory at its region's on-demand and spot SKUs", async () => {
    const gce = createProvisioner({ zone: 'us-central1-a', host: new RecordingHost(), env });
    // e2-standard-2: 2 vCPUs and 8 GiB at the E2 core and RAM prices of us-central1.
    const onDemand = await gce.hourlyPrice!('e2-standard-2', { spot: false });
    expect(onDemand.usdPerHour).toBeCloseTo(2 * 0.021811 + 8 * 0.002923, 9);
    const spot = await gce.hourlyPrice!('e2-standard-2', { spot: true });
    expect(spot.usdPerHour).toBeCloseTo(2 * 0.006543 + 8 * 0.000877, 9);
    // n1-standard-2 (7.5 GiB) at the N1 Predefined prices; a shared-core e2-small at its share.
    expect((await gce.hourlyPrice!('n1-standard-2', { spot: false })).usdPerHour).toBeCloseTo(
      2 * 0.031611 + 7.5 * 0.004237,
      9,
    );
    expect((await gce.hourlyPrice!('e2-small', { spot: false })).usdPerHour).toBeCloseTo(
      2 * 0.25 * 0.021811 + 2 * 0.002923,
      9,
    );
    // Another region's SKUs for a zone there.
    const europe = await gce.hourlyPrice!('e2-standard-2', { spot: false, zone: 'europe-west1-b' });
    expect(europe.usdPerHour).toBeCloseTo(1.1 * (2 * 0.021811 + 8 * 0.002923), 9);
  });

  it('say why there is no price instead of guessing one', async () => {
    const gce = createProvisioner({ zone: 'us-central1-a', host: new RecordingHost(), env });
    expect(await gce.hourlyPrice!('c2-standard-4', { spot: false })).toEqual({
      noPrice: expect.stringContaining('c2-standard-4'),
    });
    const unreachable = createProvisioner({
      zone: 'us-central1-a',
      host: new RecordingHost(),
      env: { ...env, TOIL_GCE_BILLING_ENDPOINT: `${fake.endpoint}/nothing-here` },
    });
    const none = await unreachable.hourlyPrice!('e2-standard-2', { spot: false });
    expect(none.usdPerHour).toBeUndefined();
    expect(none.noPrice).toMatch(/^the Cloud Billing Catalog API: /);
  });
});
