/**
 * The Cloud Billing Catalog API's SKU list of Compute Engine, as the GCE fake serves it:
 * `GET /v1/services/6F81-5844-456A/skus?currencyCode=USD&pageSize=N&pageToken=T` (the real
 * one is `https://cloudbilling.googleapis.com/v1/services/{service}/skus`). Each SKU has the
 * documented shape (`name`, `skuId`, `description`, `category` with `resourceFamily`,
 * `resourceGroup` and `usageType`, `serviceRegions`, `pricingInfo[].pricingExpression` with
 * `usageUnit` and `tieredRates[].unitPrice` as `{currencyCode, units, nanos}`).
 *
 * What it holds: the per-vCPU-hour and per-GiB-hour prices of the E2, N1 and N2 families, on
 * demand and spot ("Spot Preemptible"), for every region of the fake's zones (list prices of
 * us-central1 as published in 2026; other regions 10% more). Pages are stable: a page token is
 * the index of the next SKU. Other services are 404; a currency other than USD is 400 (the
 * fake converts nothing).
 */

/** Compute Engine's service id in the Cloud Billing Catalog. */
export const COMPUTE_SERVICE_ID = '6F81-5844-456A';

/** USD per vCPU-hour and per GiB-hour, on demand and spot, in us-central1. */
const FAMILY_PRICES: Record<
  string,
  { label: string; core: number; ram: number; spotCore: number; spotRam: number }
> = {
  E2: {
    label: 'E2 Instance',
    core: 0.021811,
    ram: 0.002923,
    spotCore: 0.006543,
    spotRam: 0.000877,
  },
  N1: {
    label: 'N1 Predefined Instance',
    core: 0.031611,
    ram: 0.004237,
    spotCore: 0.00698,
    spotRam: 0.000936,
  },
  N2: { label: 'N2 Instance', core: 0.031611, ram: 0.004237, spotCore: 0.00765, spotRam: 0.001025 },
};

const LOCATIONS: Record<string, string> = {
  'us-central1': 'Americas',
  'europe-west1': 'Belgium',
};

/** One SKU of the catalog, in the API's JSON shape. */
export interface BillingSku {
  name: string;
  skuId: string;
  description: string;
  category: {
    serviceDisplayName: string;
    resourceFamily: string;
    resourceGroup: string;
    usageType: 'OnDemand' | 'Preemptible';
  };
  serviceRegions: string[];
  pricingInfo: {
    summary: string;
    pricingExpression: {
      usageUnit: string;
      displayQuantity: number;
      tieredRates: {
        startUsageAmount: number;
        unitPrice: { currencyCode: string; units: string; nanos: number };
      }[];
      usageUnitDescription: string;
      baseUnit: string;
      baseUnitDescription: string;
      baseUnitConversionFactor: number;
    };
    currencyConversionRate: number;
    effectiveTime: string;
  }[];
  serviceProviderName: string;
}

function money(usd: number): { currencyCode: string; units: string; nanos: number } {
  const units = Math.floor(usd);
  return { currencyCode: 'USD', units: String(units), nanos: Math.round((usd - units) * 1e9) };
}

/** The fake's Compute Engine SKUs for these regions, in a stable order. */
export function computeSkus(regions: readonly string[]): BillingSku[] {
  const skus: BillingSku[] = [];
  let n = 0;
  for (const region of [...new Set(regions)].sort()) {
    const factor = region === 'us-central1' ? 1 : 1.1;
    const where = LOCATIONS[region] ?? region;
    for (const [family, p] of Object.entries(FAMILY_PRICES))
      for (const spot of [false, true])
        for (const part of ['Core', 'Ram'] as const) {
          const usd =
            (part === 'Core' ? (spot ? p.spotCore : p.core) : spot ? p.spotRam : p.ram) * factor;
          const skuId = `F${String(++n).padStart(3, '0')}-${family}${part === 'Core' ? 'C' : 'R'}-${spot ? 'SP' : 'OD'}`;
          skus.push({
            name: `services/${COMPUTE_SERVICE_ID}/skus/${skuId}`,
            skuId,
            description: `${spot ? 'Spot Preemptible ' : ''}${p.label} ${part} running in ${where}`,
            category: {
              serviceDisplayName: 'Compute Engine',
              resourceFamily: 'Compute',
              resourceGroup: part === 'Core' ? 'CPU' : 'RAM',
              usageType: spot ? 'Preemptible' : 'OnDemand',
            },
            serviceRegions: [region],
            pricingInfo: [
              {
                summary: '',
                pricingExpression: {
                  usageUnit: part === 'Core' ? 'h' : 'GiBy.h',
                  displayQuantity: 1,
                  tieredRates: [{ startUsageAmount: 0, unitPrice: money(usd) }],
                  usageUnitDescription: part === 'Core' ? 'hour' : 'gibibyte hour',
                  baseUnit: part === 'Core' ? 's' : 'By.s',
                  baseUnitDescription: part === 'Core' ? 'second' : 'byte second',
                  baseUnitConversionFactor: part === 'Core' ? 3600 : 3865470566400,
                },
                currencyConversionRate: 1,
                effectiveTime: '2026-11-01T00:00:00.000Z',
              },
            ],
            serviceProviderName: 'Google',
          });
        }
  }
  return skus;
}

/**
 * Answers a Cloud Billing Catalog request, or undefined when the path is not one: `[status,
 * body]` in the API's JSON (errors as `{error: {code, message, status}}`).
 */
export function billingCatalogAnswer(
  path: string,
  query: URLSearchParams,
  method: string,
  regions: readonly string[],
): [number, unknown] | undefined {
  const m = /^\/v1\/services\/([^/]+)\/skus$/.exec(path);
  if (!m) return undefined;
  const error = (code: number, status: string, message: string): [number, unknown] => [
    code,
    { error: { code, message, status } },
  ];
  if (method !== 'GET') return error(405, 'INVALID_ARGUMENT', `Method ${method} not allowed.`);
  if (m[1] !== COMPUTE_SERVICE_ID)
    return error(404, 'NOT_FOUND', `Service services/${m[1]} not found.`);
  const currency = query.get('currencyCode') ?? 'USD';
  if (currency !== 'USD')
    return error(
      400,
      'INVALID_ARGUMENT',
      `The fake catalog has prices in USD only, not ${currency}.`,
    );
  const size = Math.min(5000, Math.max(1, Number(query.get('pageSize') ?? 5000) || 5000));
  const token = query.get('pageToken') ?? '';
  const start = token ? Number(token) : 0;
  if (!Number.isInteger(start) || start < 0)
    return error(400, 'INVALID_ARGUMENT', `Invalid page token: ${token}`);
  const all = computeSkus(regions);
  const page = all.slice(start, start + size);
  return [
    200,
    { skus: page, nextPageToken: start + size < all.length ? String(start + size) : '' },
  ];
}
