import { COMPUTE_SERVICE_ID } from '../gce-fake-billing.js';
import { startGceFake, type GceFake } from '../gce-fake.js';

// The Cloud Billing Catalog part of the GCE fake, over HTTP with a token from the fake's STS
// endpoint (packages/provisioner-gce/test/prices.test.ts reads it through the real auth chain).

let fake: GceFake;
let token: string;

beforeAll(async () => {
  fake = await startGceFake({
    zones: [
      { name: 'us-central1-a', region: 'us-central1' },
      { name: 'europe-west1-b', region: 'europe-west1' },
    ],
  });
  const answer = await fetch(`${fake.endpoint}/v1/token`, {
    method: 'POST',
    body: new URLSearchParams({ subject_token: 'subject' }),
  });
  token = ((await answer.json()) as { access_token: string }).access_token;
});

afterAll(() => fake.stop());

const skusUrl = (query = '') =>
  `${fake.endpoint}/v1/services/${COMPUTE_SERVICE_ID}/skus${query ? `?${query}` : ''}`;

async function get(url: string): Promise<{ status: number; data: any }> {
  const answer = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: answer.status, data: await answer.json() };
}

describe('the Cloud Billing Catalog of the GCE fake', () => {
  it("lists Compute Engine's core and RAM SKUs per region in the API's shape, page by page", async () => {
    const all = await get(skusUrl('currencyCode=USD'));
    expect(all.status).toBe(200);
    expect(all.data.nextPageToken).toBe('');
    const skus = all.data.skus as any[];
    // E2, N1, N2 x on demand, spot x core, RAM x 2 regions.
    expect(skus).toHaveLength(24);
    const e2Core = skus.find(
      (s) =>
        s.description === 'E2 Instance Core running in Americas' &&
        s.serviceRegions[0] === 'us-central1',
    );
    expect(e2Core).toMatchObject({
      name: `services/${COMPUTE_SERVICE_ID}/skus/${e2Core.skuId}`,
      category: {
        serviceDisplayName: 'Compute Engine',
        resourceFamily: 'Compute',
        resourceGroup: 'CPU',
        usageType: 'OnDemand',
      },
      pricingInfo: [
        {
          pricingExpression: {
            usageUnit: 'h',
            tieredRates: [
              {
                startUsageAmount: 0,
                unitPrice: { currencyCode: 'USD', units: '0', nanos: 21811000 },
              },
            ],
          },
        },
      ],
    });
    expect(skus.filter((s) => s.category.usageType === 'Preemptible')).toHaveLength(12);
    expect(
      skus.some(
        (s) => s.description === 'Spot Preemptible N1 Predefined Instance Ram running in Belgium',
      ),
    ).toBe(true);

    const first = await get(skusUrl('currencyCode=USD&pageSize=10'));
    expect(first.data.skus).toHaveLength(10);
    expect(first.data.nextPageToken).toBe('10');
    const rest = await get(skusUrl('pageSize=20&pageToken=10'));
    expect(rest.data.skus).toHaveLength(14);
    expect(rest.data.nextPageToken).toBe('');
    expect([...first.data.skus, ...rest.data.skus]).toEqual(skus);
  });

  it('refuses other services, other currencies, bad page tokens and calls without credentials', async () => {
    expect((await get(`${fake.endpoint}/v1/services/0000-0000-0000/skus`)).status).toBe(404);
    const euro = await get(skusUrl('currencyCode=EUR'));
    expect(euro.status).toBe(400);
    expect(euro.data.error.status).toBe('INVALID_ARGUMENT');
    expect((await get(skusUrl('pageToken=x'))).status).toBe(400);
    const anonymous = await fetch(skusUrl());
    expect(anonymous.status).toBe(401);
  });
});
