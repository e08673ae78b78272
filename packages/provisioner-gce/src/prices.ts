import type { HourlyPrice } from '@toil/provisioner';

/** Compute Engine's service id in the Cloud Billing Catalog API. */
export const COMPUTE_BILLING_SERVICE = '6F81-5844-456A';

/** The Cloud Billing Catalog API (`TOIL_GCE_BILLING_ENDPOINT` overrides it, e.g. for tests). */
export const BILLING_ENDPOINT = 'https://cloudbilling.googleapis.com';

/** The parts of a Cloud Billing Catalog SKU the prices come from. */
export interface BillingSku {
  description?: string;
  category?: { resourceFamily?: string; resourceGroup?: string; usageType?: string };
  serviceRegions?: string[];
  pricingInfo?: {
    pricingExpression?: {
      usageUnit?: string;
      tieredRates?: {
        startUsageAmount?: number;
        unitPrice?: { currencyCode?: string; units?: string; nanos?: number };
      }[];
    };
  }[];
}

/** Fetches one URL with the caller's credentials and resolves with its JSON body. */
export type AuthorizedGet = (url: string) => Promise<unknown>;

/**
 * Every Compute Engine SKU of the Cloud Billing Catalog (`GET
 * /v1/services/6F81-5844-456A/skus?currencyCode=USD`, page by page).
 */
export async function fetchComputeSkus(
  get: AuthorizedGet,
  endpoint = BILLING_ENDPOINT,
): Promise<BillingSku[]> {
  const skus: BillingSku[] = [];
  let pageToken = '';
  do {
    const url = new URL(
      `${endpoint.replace(/\/+$/, '')}/v1/services/${COMPUTE_BILLING_SERVICE}/skus`,
    );
    url.searchParams.set('currencyCode', 'USD');
    url.searchParams.set('pageSize', '5000');
    if (pageToken) url.searchParams.set('pageToken', pageToken);
    const page = (await get(url.toString())) as { skus?: BillingSku[]; nextPageToken?: string };
    skus.push(...(page.skus ?? []));
    pageToken = page.nextPageToken ?? '';
  } while (pageToken);
  return skus;
}

/** Shared-core machine types: the share of their vCPUs they are billed for. */
const SHARED_CORE: Record<string, number> = {
  'e2-micro': 0.125,
  'e2-small': 0.25,
  'e2-medium': 0.5,
};

/** The first tier's price of a SKU in USD per its usage unit. */
function unitPrice(sku: BillingSku): { usd: number; unit: string } | undefined {
  const expression = sku.pricingInfo?.[0]?.pricingExpression;
  const rate = expression?.tieredRates?.find((r) => (r.startUsageAmount ?? 0) === 0);
  const price = rate?.unitPrice;
  if (!expression?.usageUnit || !price || (price.currencyCode ?? 'USD') !== 'USD') return undefined;
  return { usd: Number(price.units ?? 0) + (price.nanos ?? 0) / 1e9, unit: expression.usageUnit };
}

/**
 * The hourly price of a predefined machine type from Compute Engine's SKUs: its vCPUs at the
 * family's `… Instance Core` price and its memory at the `… Instance Ram` price (per GiB) in
 * the region, on demand or spot (`Spot Preemptible …`, usage type `Preemptible`); shared-core
 * types (e2-micro/small/medium) at their share of a core.
 */
export function machineTypePrice(
  skus: readonly BillingSku[],
  machineType: string,
  size: { cpus: number; memoryMb: number },
  region: string,
  spot: boolean,
): HourlyPrice {
  const family = machineType.split('-')[0]!.toUpperCase();
  const part = (name: 'Core' | 'Ram') =>
    skus.find((sku) => {
      const description = sku.description ?? '';
      return (
        sku.category?.resourceFamily === 'Compute' &&
        sku.category.usageType === (spot ? 'Preemptible' : 'OnDemand') &&
        (sku.serviceRegions ?? []).includes(region) &&
        new RegExp(
          `^${spot ? 'Spot Preemptible ' : ''}${family}( Predefined)? Instance ${name} running in `,
        ).test(description)
      );
    });
  const core = part('Core');
  const ram = part('Ram');
  const corePrice = core && unitPrice(core);
  const ramPrice = ram && unitPrice(ram);
  if (!corePrice || !ramPrice || corePrice.unit !== 'h' || ramPrice.unit !== 'GiBy.h')
    return {
      noPrice: `the Cloud Billing Catalog has no ${spot ? 'spot ' : ''}${family} core and RAM prices for ${region}`,
    };
  const cpus = size.cpus * (SHARED_CORE[machineType] ?? 1);
  return { usdPerHour: cpus * corePrice.usd + (size.memoryMb / 1024) * ramPrice.usd };
}

/**
 * Hourly prices of machine types from the Cloud Billing Catalog API, its SKU list read once
 * per process. A catalog that cannot be read is `noPrice` with the reason, never a guess.
 */
export class GcePrices {
  private skus: Promise<BillingSku[]> | undefined;

  constructor(
    private readonly get: AuthorizedGet,
    private readonly endpoint = BILLING_ENDPOINT,
  ) {}

  /** The price of `machineType` (of this size) in `region`. */
  async hourlyPrice(
    machineType: string,
    size: { cpus: number; memoryMb: number },
    region: string,
    spot: boolean,
  ): Promise<HourlyPrice> {
    this.skus ??= fetchComputeSkus(this.get, this.endpoint);
    try {
      return machineTypePrice(await this.skus, machineType, size, region, spot);
    } catch (error) {
      this.skus = undefined;
      return {
        noPrice: `the Cloud Billing Catalog API: ${(error as Error).message.split('\n')[0]}`,
      };
    }
  }
}
