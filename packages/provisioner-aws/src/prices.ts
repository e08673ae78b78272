import { DescribeSpotPriceHistoryCommand, type SpotPrice } from '@aws-sdk/client-ec2';
import type { HourlyPrice } from '@toil/provisioner';
import type { AwsClients } from './aws.js';

/**
 * The Price List API answers in these regions only; `us-east-1` serves every region's
 * prices.
 */
const PRICING_REGION = 'us-east-1';

/** The spot price history of a type in a zone (Linux), newest first. */
export async function spotPriceHistory(
  clients: Pick<AwsClients, 'ec2'>,
  instanceType: string,
  zone: string,
  from: Date,
): Promise<SpotPrice[]> {
  const history: SpotPrice[] = [];
  let NextToken: string | undefined;
  do {
    const page = await clients.ec2.send(
      new DescribeSpotPriceHistoryCommand({
        InstanceTypes: [instanceType as never],
        AvailabilityZone: zone,
        ProductDescriptions: ['Linux/UNIX (Amazon VPC)', 'Linux/UNIX'],
        // AWS returns the price in effect at StartTime too, then every change since.
        StartTime: from,
        ...(NextToken ? { NextToken } : {}),
      }),
    );
    history.push(...(page.SpotPriceHistory ?? []));
    NextToken = page.NextToken || undefined;
  } while (NextToken);
  return history.sort((a, b) => (b.Timestamp?.getTime() ?? 0) - (a.Timestamp?.getTime() ?? 0));
}

/**
 * The spot price in effect at `at` (epoch seconds): the newest entry not after it, else the
 * oldest one (a history that starts later). Undefined for an empty history.
 */
export function spotPriceAt(history: readonly SpotPrice[], at: number): number | undefined {
  const newestFirst = [...history].sort(
    (a, b) => (b.Timestamp?.getTime() ?? 0) - (a.Timestamp?.getTime() ?? 0),
  );
  const entry =
    newestFirst.find((p) => (p.Timestamp?.getTime() ?? 0) <= at * 1000) ?? newestFirst.at(-1);
  const price = Number(entry?.SpotPrice);
  return entry && Number.isFinite(price) ? price : undefined;
}

/** One product of a Price List `GetProducts` answer (the parts we read). */
interface PriceListItem {
  product?: { attributes?: Record<string, string> };
  terms?: {
    OnDemand?: Record<
      string,
      {
        priceDimensions?: Record<string, { unit?: string; pricePerUnit?: Record<string, string> }>;
      }
    >;
  };
}

/**
 * The on-demand hourly price (USD) of one `PriceList` item of the Price List API's
 * `GetProducts` (a JSON document: `product.attributes`, `terms.OnDemand.<offer>.priceDimensions
 * .<rate>.pricePerUnit.USD` with `unit` `Hrs`), when it is an EC2 instance of that type;
 * undefined otherwise.
 */
export function onDemandPriceOf(item: string | object, instanceType: string): number | undefined {
  let doc: PriceListItem;
  try {
    doc = (typeof item === 'string' ? JSON.parse(item) : item) as PriceListItem;
  } catch {
    return undefined;
  }
  if (doc.product?.attributes?.instanceType !== instanceType) return undefined;
  for (const offer of Object.values(doc.terms?.OnDemand ?? {}))
    for (const dimension of Object.values(offer.priceDimensions ?? {})) {
      const usd = Number(dimension.pricePerUnit?.USD);
      if (/^hrs?$/i.test(dimension.unit ?? '') && Number.isFinite(usd) && usd > 0) return usd;
    }
  return undefined;
}

/**
 * The on-demand price of a Linux instance type in a region from the Price List API
 * (`GetProducts` on `AmazonEC2`, shared tenancy, no pre-installed software, capacity used).
 */
export async function onDemandPrice(
  instanceType: string,
  region: string,
  makeClient: () => Promise<{
    send(command: unknown): Promise<{ PriceList?: (string | object)[] }>;
    destroy(): void;
  }>,
): Promise<HourlyPrice> {
  const { GetProductsCommand } = await import('@aws-sdk/client-pricing');
  const client = await makeClient();
  try {
    const answer = await client.send(
      new GetProductsCommand({
        ServiceCode: 'AmazonEC2',
        Filters: Object.entries({
          instanceType,
          regionCode: region,
          operatingSystem: 'Linux',
          tenancy: 'Shared',
          preInstalledSw: 'NA',
          capacitystatus: 'Used',
          licenseModel: 'No License required',
        }).map(([Field, Value]) => ({ Type: 'TERM_MATCH', Field, Value })),
        MaxResults: 10,
      }),
    );
    for (const item of answer.PriceList ?? []) {
      const usd = onDemandPriceOf(item, instanceType);
      if (usd !== undefined) return { usdPerHour: usd };
    }
    return { noPrice: `the Price List API lists no on-demand Linux price for it in ${region}` };
  } catch (error) {
    return { noPrice: `the Price List API: ${firstLine(error)}` };
  } finally {
    client.destroy();
  }
}

function firstLine(error: unknown): string {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  // An endpoint that does not serve the API (moto has no Price List) answers some HTML page.
  if (e?.name === 'SyntaxError')
    return `the endpoint answered HTTP ${e.$metadata?.httpStatusCode ?? '(no status)'}, not the API's answer`;
  const message = (e?.message ?? String(error)).split('\n')[0]!.trim();
  return e?.name && e.name !== 'Error' && !message.includes(e.name)
    ? `${e.name}${message ? `: ${message}` : ''}`
    : message || 'no answer';
}

/**
 * Hourly prices from AWS's APIs, each asked once per type (and zone): spot prices from EC2's
 * spot price history, on-demand prices from the Price List API (`pricing:GetProducts`; not
 * served by every endpoint, e.g. moto: then there is no price, and it says why).
 */
export class AwsPrices {
  private readonly spot = new Map<string, Promise<SpotPrice[]>>();
  private readonly onDemand = new Map<string, Promise<HourlyPrice>>();

  constructor(
    private readonly clients: Pick<AwsClients, 'ec2' | 'region'>,
    private readonly pricingClient: () => Promise<{
      send(command: unknown): Promise<{ PriceList?: (string | object)[] }>;
      destroy(): void;
    }> = async () => {
      const { PricingClient } = await import('@aws-sdk/client-pricing');
      return new PricingClient({ region: PRICING_REGION, maxAttempts: 2 });
    },
  ) {}

  /** See `Provisioner.hourlyPrice`. */
  async hourlyPrice(
    instanceType: string,
    options: { spot: boolean; zone?: string; at?: number },
  ): Promise<HourlyPrice> {
    const at = options.at ?? Date.now() / 1000;
    if (!options.spot) {
      let price = this.onDemand.get(instanceType);
      if (!price) {
        price = onDemandPrice(instanceType, this.clients.region, this.pricingClient);
        this.onDemand.set(instanceType, price);
      }
      return price;
    }
    if (!options.zone) return { noPrice: 'a spot price needs the instance zone' };
    const key = `${instanceType}\0${options.zone}`;
    let history = this.spot.get(key);
    if (!history) {
      // One look back far enough for every instance asked about in this process.
      history = spotPriceHistory(this.clients, instanceType, options.zone, new Date(at * 1000));
      this.spot.set(key, history);
    }
    try {
      const usd = spotPriceAt(await history, at);
      return usd === undefined
        ? { noPrice: `EC2 has no spot price history for it in ${options.zone}` }
        : { usdPerHour: usd };
    } catch (error) {
      this.spot.delete(key);
      return { noPrice: `DescribeSpotPriceHistory: ${firstLine(error)}` };
    }
  }

  /** Prices for many instances at once (destroy-cluster): asks for the oldest start first. */
  async pricesOf(
    instances: readonly { nodeType: string; spot: boolean; zone?: string; launched: number }[],
  ): Promise<HourlyPrice[]> {
    const oldestFirst = [...instances.keys()].sort(
      (a, b) => instances[a]!.launched - instances[b]!.launched,
    );
    const prices: HourlyPrice[] = [];
    for (const i of oldestFirst) {
      const { nodeType, spot, zone, launched } = instances[i]!;
      prices[i] = await this.hourlyPrice(nodeType, {
        spot,
        ...(zone ? { zone } : {}),
        at: launched,
      });
    }
    return prices;
  }
}
