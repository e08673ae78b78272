import { onDemandPriceOf, spotPriceAt } from '@toil/provisioner-aws';

/**
 * One `PriceList` item of the Price List API's GetProducts for EC2, shaped as AWS documents it
 * (a JSON string: product with its attributes, OnDemand and Reserved terms).
 */
const T2_MEDIUM_ITEM = JSON.stringify({
  product: {
    productFamily: 'Compute Instance',
    attributes: {
      enhancedNetworkingSupported: 'No',
      memory: '4 GiB',
      vcpu: '2',
      capacitystatus: 'Used',
      locationType: 'AWS Region',
      storage: 'EBS only',
      instanceFamily: 'General purpose',
      operatingSystem: 'Linux',
      regionCode: 'us-west-2',
      physicalProcessor: 'Intel Xeon Family',
      servicecode: 'AmazonEC2',
      usagetype: 'USW2-BoxUsage:t2.medium',
      tenancy: 'Shared',
      licenseModel: 'No License required',
      location: 'US West (Oregon)',
      instanceType: 't2.medium',
      operation: 'RunInstances',
      preInstalledSw: 'NA',
      servicename: 'Amazon Elastic Compute Cloud',
    },
    sku: '7DG3KBCW3Y6AZK3T',
  },
  serviceCode: 'AmazonEC2',
  terms: {
    OnDemand: {
      '7DG3KBCW3Y6AZK3T.JRTCKXETXF': {
        priceDimensions: {
          '7DG3KBCW3Y6AZK3T.JRTCKXETXF.6YS6EN2CT7': {
            unit: 'Hrs',
            endRange: 'Inf',
            description: '$0.0464 per On Demand Linux t2.medium Instance Hour',
            appliesTo: [],
            rateCode: '7DG3KBCW3Y6AZK3T.JRTCKXETXF.6YS6EN2CT7',
            beginRange: '0',
            pricePerUnit: { USD: '0.0464000000' },
          },
        },
        sku: '7DG3KBCW3Y6AZK3T',
        effectiveDate: '2026-11-01T00:00:00Z',
        offerTermCode: 'JRTCKXETXF',
        termAttributes: {},
      },
    },
    Reserved: {
      '7DG3KBCW3Y6AZK3T.4NA7Y494T4': {
        priceDimensions: {
          '7DG3KBCW3Y6AZK3T.4NA7Y494T4.6YS6EN2CT7': {
            unit: 'Hrs',
            endRange: 'Inf',
            description: 'Linux/UNIX (Amazon VPC), t2.medium reserved instance applied',
            appliesTo: [],
            rateCode: '7DG3KBCW3Y6AZK3T.4NA7Y494T4.6YS6EN2CT7',
            beginRange: '0',
            pricePerUnit: { USD: '0.0290000000' },
          },
        },
        sku: '7DG3KBCW3Y6AZK3T',
        effectiveDate: '2026-11-01T00:00:00Z',
        offerTermCode: '4NA7Y494T4',
        termAttributes: {
          LeaseContractLength: '1yr',
          OfferingClass: 'standard',
          PurchaseOption: 'No Upfront',
        },
      },
    },
  },
  version: '20261101000000',
  publicationDate: '2026-11-01T00:00:00Z',
});

describe('instance prices from AWS documents', () => {
  it("read the on-demand hourly price of a Price List item, not the reserved one, and only for the item's instance type", () => {
    expect(onDemandPriceOf(T2_MEDIUM_ITEM, 't2.medium')).toBe(0.0464);
    expect(onDemandPriceOf(JSON.parse(T2_MEDIUM_ITEM) as object, 't2.medium')).toBe(0.0464);
    expect(onDemandPriceOf(T2_MEDIUM_ITEM, 't3.medium')).toBeUndefined();
    const noOnDemand = JSON.parse(T2_MEDIUM_ITEM) as { terms: Record<string, unknown> };
    delete noOnDemand.terms.OnDemand;
    expect(onDemandPriceOf(JSON.stringify(noOnDemand), 't2.medium')).toBeUndefined();
    expect(onDemandPriceOf('{"product":', 't2.medium')).toBeUndefined();
  });

  it('take the spot price in effect when an instance started from the price history', () => {
    const history = [
      { SpotPrice: '0.0141', Timestamp: new Date('2026-11-30T10:00:00Z') },
      { SpotPrice: '0.0139', Timestamp: new Date('2026-11-30T12:00:00Z') },
      { SpotPrice: '0.0150', Timestamp: new Date('2026-11-30T08:00:00Z') },
    ];
    const at = (iso: string) => Date.parse(iso) / 1000;
    expect(spotPriceAt(history, at('2026-11-30T11:00:00Z'))).toBe(0.0141);
    expect(spotPriceAt(history, at('2026-11-30T12:30:00Z'))).toBe(0.0139);
    expect(spotPriceAt(history, at('2026-11-30T12:00:00Z'))).toBe(0.0139);
    // Before the history starts: its oldest price.
    expect(spotPriceAt(history, at('2026-11-30T07:00:00Z'))).toBe(0.015);
    expect(spotPriceAt([], at('2026-11-30T07:00:00Z'))).toBeUndefined();
  });
});
