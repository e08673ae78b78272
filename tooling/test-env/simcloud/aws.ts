import {
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeInstanceAttributeCommand,
  EC2Client,
  paginateDescribeInstances,
} from '@aws-sdk/client-ec2';
import { randomUUID } from 'node:crypto';
import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MotoServer } from '../moto.js';
import { decodeUserData } from './cloud-config.js';
import type { InstanceSource, SimCloud, SimInstance } from './simcloud.js';

/** The VPC and subnet a test cluster launches into (`--vpcSubnet`). */
export interface SimSubnet {
  readonly region: string;
  readonly vpcId: string;
  readonly subnetId: string;
  /** The subnet's availability zone, e.g. `us-west-2a` (`--zone`). */
  readonly zone: string;
  readonly cidr: string;
}

/** moto's EC2 (and everything else moto serves) behind the simulated cloud's front. */
export interface SimAws {
  /** `http://127.0.0.1:PORT`: the front for the product and tests on this machine. */
  readonly endpoint: string;
  /** `http://GATEWAY:PORT`: the same front as nodes reach it (the root namespace's bridge address). */
  readonly nodeEndpoint: string;
  /**
   * Environment for the product on this machine: the standard AWS SDK variables pointing every
   * service at the front, moto's fake credentials, no instance metadata.
   */
  readonly env: Record<string, string>;
  /** Creates (once per region) the VPC and the subnet with the run's CIDR, and returns them. */
  subnet(region: string): Promise<SimSubnet>;
  /** Stops the front (the VPCs stay in moto until it is reset or stopped). */
  stop(): Promise<void>;
}

const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
const LIVE = new Set(['pending', 'running']);
/** Actions after which the instances' set or states changed. */
const TRIGGERS = new Set([
  'RunInstances',
  'TerminateInstances',
  'StopInstances',
  'StartInstances',
  'RebootInstances',
  'RequestSpotInstances',
  'CancelSpotInstanceRequests',
  'CreateFleet',
]);

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function regionOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization ?? '';
  return /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\//.exec(auth)?.[1];
}

function ec2Error(res: ServerResponse, code: string, message: string): void {
  res.writeHead(400, { 'content-type': 'text/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`,
  );
}

/**
 * Why a launch request must not reach moto, or undefined. Instances must go into one of the
 * run's subnets and must not ask for a public address; the reconcile pass checks the result
 * again (a launch template could name another subnet).
 */
function launchRefusal(
  action: string,
  params: URLSearchParams,
  subnets: Set<string>,
): string | undefined {
  if (action !== 'RunInstances' && action !== 'RequestSpotInstances') return undefined;
  const named = [...params.entries()].filter(([k]) => /(^|\.)SubnetId$/.test(k)).map(([, v]) => v);
  const template = [...params.keys()].some((k) => k.startsWith('LaunchTemplate.'));
  for (const [k, v] of params)
    if (/AssociatePublicIpAddress$/.test(k) && v === 'true')
      return `${action} asks for a public address (${k}); simulated clusters have private addresses only`;
  if (named.length === 0 && !template)
    return `${action} names no subnet; launch test clusters into the simulated cloud's subnet (${[...subnets].join(', ') || 'none prepared: call subnet(region) first'}) with --vpcSubnet`;
  const foreign = named.filter((s) => !subnets.has(s));
  if (foreign.length)
    return `${action} names subnet ${foreign.join(', ')}, which the simulated cloud did not make (its subnets: ${[...subnets].join(', ')})`;
  return undefined;
}

/**
 * Puts moto's EC2 under the simulated cloud: instances moto runs become nodes, and a small
 * HTTP front on 127.0.0.1 (and on the gateway address, for nodes) forwards every request to
 * moto except `GetConsoleOutput` for simulated instances, which it answers from the node's
 * real console (stage 1's output, host-key fingerprints included). Launches that would get
 * an address outside the run's subnet are refused there with an EC2 error. The product
 * only needs `AWS_ENDPOINT_URL` set to {@link SimAws.endpoint} (see {@link SimAws.env}).
 */
export async function attachAws(cloud: SimCloud, moto: MotoServer): Promise<SimAws> {
  const subnets = new Map<string, SimSubnet>();
  const subnetIds = new Set<string>();
  const regions = new Set<string>();
  const userData = new Map<string, string>();
  const clients = new Map<string, EC2Client>();
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  const client = (region: string) => {
    let c = clients.get(region);
    if (!c) {
      c = new EC2Client({ endpoint: moto.endpoint, region, credentials });
      clients.set(region, c);
    }
    return c;
  };
  let port = 0;
  const nodeEndpoint = () => `http://${cloud.gateway}:${port}`;

  const source: InstanceSource = {
    name: 'ec2',
    async list() {
      const out: SimInstance[] = [];
      for (const region of regions) {
        for await (const page of paginateDescribeInstances({ client: client(region) }, {})) {
          for (const reservation of page.Reservations ?? []) {
            for (const i of reservation.Instances ?? []) {
              const id = i.InstanceId!;
              const live = LIVE.has(i.State?.Name ?? '');
              if (live && !userData.has(id)) {
                const attr = await client(region).send(
                  new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'userData' }),
                );
                userData.set(id, decodeUserData(attr.UserData?.Value));
              }
              out.push({
                id,
                live,
                privateAddress: i.PrivateIpAddress,
                publicAddress: i.PublicIpAddress,
                hostname: i.PrivateDnsName?.split('.')[0] || undefined,
                userData: userData.get(id) ?? '',
                sessionEnv: {
                  AWS_ENDPOINT_URL: nodeEndpoint(),
                  AWS_ACCESS_KEY_ID: credentials.accessKeyId,
                  AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
                  AWS_REGION: region,
                  AWS_DEFAULT_REGION: region,
                  AWS_EC2_METADATA_DISABLED: 'true',
                },
              });
            }
          }
        }
      }
      return out;
    },
  };

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    body?: Buffer,
    after?: () => void,
  ) => {
    const upstream = request(
      {
        host: '127.0.0.1',
        port: moto.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => after?.());
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`simcloud front: moto is unreachable: ${error.message}`);
    });
    if (body) upstream.end(body);
    else req.pipe(upstream);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const type = req.headers['content-type'] ?? '';
    const query = new URL(req.url ?? '/', 'http://front').searchParams;
    const isForm = req.method === 'POST' && type.startsWith('application/x-www-form-urlencoded');
    if (!isForm && !query.has('Action')) return forward(req, res);
    const body = isForm ? await readBody(req) : undefined;
    const params = body ? new URLSearchParams(body.toString('utf8')) : query;
    const action = params.get('Action') ?? '';
    const region = regionOf(req);
    if (region && TRIGGERS.has(action)) regions.add(region);
    const refusal = launchRefusal(action, params, subnetIds);
    if (refusal) {
      cloud.problems.push(refusal);
      process.stderr.write(`\n!! simcloud ${cloud.runId}: refused ${refusal}\n`);
      return ec2Error(res, 'SimCloudRefused', `simulated cloud: ${refusal}`);
    }
    if (action === 'GetConsoleOutput') {
      const id = params.get('InstanceId') ?? '';
      if (!cloud.knows(id)) await cloud.reconcile();
      const text = cloud.consoleOutput(id);
      if (text !== undefined) {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?>\n<GetConsoleOutputResponse xmlns="${EC2_XMLNS}"><requestId>${randomUUID()}</requestId><instanceId>${xmlEscape(id)}</instanceId><timestamp>${new Date().toISOString()}</timestamp>${text ? `<output>${Buffer.from(text).toString('base64')}</output>` : ''}</GetConsoleOutputResponse>`,
        );
        return;
      }
    }
    forward(
      req,
      res,
      body,
      TRIGGERS.has(action) ? () => void cloud.reconcile().catch(() => {}) : undefined,
    );
  };

  const servers: Server[] = [];
  const listen = (host: string, wanted: number) =>
    new Promise<number>((resolve, reject) => {
      const server = createServer((req, res) => {
        handle(req, res).catch((error: Error) => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`simcloud front: ${error.message}`);
        });
      });
      server.keepAliveTimeout = 1000;
      server.once('error', reject);
      server.listen(wanted, host, () => {
        servers.push(server);
        resolve((server.address() as AddressInfo).port);
      });
    });
  port = await listen('127.0.0.1', 0);
  await listen(cloud.gateway, port);
  await cloud.addSource(source);
  const endpoint = `http://127.0.0.1:${port}`;

  return {
    endpoint,
    nodeEndpoint: nodeEndpoint(),
    env: {
      ...moto.env,
      AWS_ENDPOINT_URL: endpoint,
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ENDPOINT_URL_EC2: endpoint,
      AWS_ENDPOINT_URL_IAM: endpoint,
    },
    async subnet(region: string) {
      const known = subnets.get(region);
      if (known) return known;
      regions.add(region);
      const vpc = await client(region).send(new CreateVpcCommand({ CidrBlock: cloud.cidr }));
      const sub = await client(region).send(
        new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: cloud.cidr }),
      );
      const made: SimSubnet = {
        region,
        vpcId: vpc.Vpc!.VpcId!,
        subnetId: sub.Subnet!.SubnetId!,
        zone: sub.Subnet!.AvailabilityZone!,
        cidr: cloud.cidr,
      };
      subnets.set(region, made);
      subnetIds.add(made.subnetId);
      return made;
    },
    async stop() {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections();
              s.close(() => resolve());
            }),
        ),
      );
      for (const c of clients.values()) c.destroy();
    },
  };
}

/** Deletes the subnet and VPC {@link SimAws.subnet} made (for tests that check moto is empty). */
export async function deleteSubnet(moto: MotoServer, subnet: SimSubnet): Promise<void> {
  const c = new EC2Client({
    endpoint: moto.endpoint,
    region: subnet.region,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  try {
    await c.send(new DeleteSubnetCommand({ SubnetId: subnet.subnetId }));
    await c.send(new DeleteVpcCommand({ VpcId: subnet.vpcId }));
  } finally {
    c.destroy();
  }
}
