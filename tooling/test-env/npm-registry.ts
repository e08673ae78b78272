import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A package registry this tooling started on 127.0.0.1. */
export interface LocalRegistry {
  /** `http://127.0.0.1:PORT/`, for npm's `registry` setting. */
  readonly url: string;
  /** The package names npm asked for, in order (for diagnostics). */
  readonly requested: readonly string[];
  /** Closes the server and waits until it is closed. */
  stop(): Promise<void>;
}

/** Where one version of a package comes from: a packed tarball, or a directory to pack. */
type Source = { manifest: Record<string, unknown> } & ({ tarball: string } | { directory: string });

/**
 * Every third-party package version the workspace has installed: the real directories in
 * pnpm's virtual store (`node_modules/.pnpm/<entry>/node_modules/<name>`), by name and version.
 */
function indexVirtualStore(root: string, into: Map<string, Map<string, Source>>): void {
  const store = join(root, 'node_modules', '.pnpm');
  for (const entry of readdirSync(store)) {
    const modules = join(store, entry, 'node_modules');
    if (entry === 'node_modules' || !statSync(join(store, entry)).isDirectory()) continue;
    const candidates = readdirSync(modules).flatMap((name) =>
      name.startsWith('@')
        ? readdirSync(join(modules, name)).map((sub) => `${name}/${sub}`)
        : [name],
    );
    for (const name of candidates) {
      const directory = join(modules, name);
      if (lstatSync(directory).isSymbolicLink()) continue;
      let manifest: Record<string, unknown>;
      try {
        manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as Record<
          string,
          unknown
        >;
      } catch {
        continue;
      }
      if (manifest.name !== name || typeof manifest.version !== 'string') continue;
      const versions = into.get(name) ?? new Map<string, Source>();
      versions.set(manifest.version, { manifest, directory });
      into.set(name, versions);
    }
  }
}

/** One package's entry in pnpm's store index: its files as published, and build side effects. */
interface StoreIndexEntry {
  files: Record<string, { integrity: string; mode: number }>;
  sideEffects?: unknown;
}

/**
 * The index files of pnpm's content-addressed store (`<storeDir>/index/xx/<hash>-<name>@<version>.json`,
 * `/` in a scoped name written `+`), by `name@version`. The store dir is the one recorded in
 * the workspace's `node_modules/.modules.yaml`.
 */
function indexStore(root: string): { storeDir: string; entries: Map<string, string> } | undefined {
  const modules = readFileSync(join(root, 'node_modules', '.modules.yaml'), 'utf8');
  const storeDir = /"?storeDir"?:\s*"?([^"\n]+)"?/.exec(modules)?.[1];
  if (!storeDir || !existsSync(join(storeDir, 'index'))) return undefined;
  const entries = new Map<string, string>();
  for (const bucket of readdirSync(join(storeDir, 'index'))) {
    for (const file of readdirSync(join(storeDir, 'index', bucket))) {
      const match = /^[0-9a-f]+-(.+)\.json$/.exec(file);
      if (match) entries.set(match[1]!.replace('+', '/'), join(storeDir, 'index', bucket, file));
    }
  }
  return { storeDir, entries };
}

/**
 * A copy of a package as it was published, from pnpm's store, in a new temporary directory
 * (the caller removes it): the virtual store holds a package after its build script ran
 * (esbuild replaces its `bin/esbuild` launcher with the 10 MB native binary).
 */
function pristineCopy(storeDir: string, entry: StoreIndexEntry): string {
  const dir = mkdtempSync(join(tmpdir(), 'toil-registry-pkg-'));
  for (const [path, { integrity, mode }] of Object.entries(entry.files)) {
    const hex = Buffer.from(integrity.replace(/^sha512-/, ''), 'base64').toString('hex');
    const content = join(storeDir, 'files', hex.slice(0, 2), hex.slice(2));
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    copyFileSync(existsSync(content) ? content : `${content}-exec`, join(dir, path));
    chmodSync(join(dir, path), mode & 0o777);
  }
  return dir;
}

/** Our packed tarballs (`pnpm pack` output), by the name and version in their package.json. */
async function indexTarballs(dir: string, into: Map<string, Map<string, Source>>): Promise<void> {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.tgz'))) {
    const tarball = join(dir, file);
    const { stdout } = await run('tar', ['-xzOf', tarball, 'package/package.json']);
    const manifest = JSON.parse(stdout) as Record<string, unknown>;
    const name = manifest.name as string;
    const versions = into.get(name) ?? new Map<string, Source>();
    versions.set(manifest.version as string, { manifest, tarball });
    into.set(name, versions);
  }
}

/** A gzipped tar of `directory` under `package/`, as npm publishes it (fixed owner and times). */
function packDirectory(directory: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tar = spawn(
      'tar',
      [
        '-C',
        directory,
        '--sort=name',
        '--owner=0',
        '--group=0',
        '--numeric-owner',
        // pnpm hard-links equal files; npm drops link entries, so store each file's content.
        '--hard-dereference',
        '--mtime=@499162500',
        '--transform=s,^\\.,package,',
        '-czf',
        '-',
        '.',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const chunks: Buffer[] = [];
    let stderr = '';
    tar.stdout.on('data', (d: Buffer) => chunks.push(d));
    tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    tar.on('error', reject);
    tar.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(chunks))
        : reject(new Error(`tar of ${directory} exited ${code}: ${stderr}`)),
    );
  });
}

/**
 * The tarball of a third-party package as published: from the pnpm store's copy when its
 * build changed the installed directory, else from that directory.
 */
async function packPublished(
  directory: string,
  store: ReturnType<typeof indexStore>,
  key: string,
): Promise<Buffer> {
  const indexFile = store?.entries.get(key);
  const entry = indexFile
    ? (JSON.parse(readFileSync(indexFile, 'utf8')) as StoreIndexEntry)
    : undefined;
  if (!store || !entry?.sideEffects) return packDirectory(directory);
  const copy = pristineCopy(store.storeDir, entry);
  try {
    return await packDirectory(copy);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/**
 * Starts an npm registry on 127.0.0.1 (free port) that serves exactly two kinds of packages:
 * the tarballs in `tarballDir` (our packed `@toil/*` packages) and every third-party package
 * version installed in the workspace at `workspaceRoot` (pnpm's virtual store), packed on
 * first request. Anything else is a 404, as an unpublished name would be. npm pointed at it
 * installs as from the public registry, without reaching it: the release rehearsal and
 * `pnpm bench install` use it so they work offline.
 */
export async function startLocalRegistry(options: {
  workspaceRoot: string;
  tarballDir: string;
}): Promise<LocalRegistry> {
  const packages = new Map<string, Map<string, Source>>();
  indexVirtualStore(options.workspaceRoot, packages);
  const store = indexStore(options.workspaceRoot);
  await indexTarballs(options.tarballDir, packages);
  const packed = new Map<string, Promise<{ data: Buffer; integrity: string; shasum: string }>>();
  const requested: string[] = [];
  let base = '';

  const tarballOf = (name: string, version: string) => {
    const key = `${name}@${version}`;
    let pending = packed.get(key);
    if (!pending) {
      const source = packages.get(name)!.get(version)!;
      pending = (
        'tarball' in source
          ? Promise.resolve(readFileSync(source.tarball))
          : packPublished(source.directory, store, key)
      ).then((data) => ({
        data,
        integrity: `sha512-${createHash('sha512').update(data).digest('base64')}`,
        shasum: createHash('sha1').update(data).digest('hex'),
      }));
      packed.set(key, pending);
    }
    return pending;
  };

  const packument = async (name: string) => {
    const versions = packages.get(name)!;
    const entries = await Promise.all(
      [...versions].map(async ([version, source]) => {
        const { integrity, shasum } = await tarballOf(name, version);
        const { scripts: _scripts, devDependencies: _dev, ...manifest } = source.manifest;
        const scripts = source.manifest.scripts as Record<string, string> | undefined;
        const hasInstallScript = ['preinstall', 'install', 'postinstall'].some((s) => scripts?.[s]);
        return [
          version,
          {
            ...manifest,
            ...(scripts ? { scripts } : {}),
            ...(hasInstallScript ? { hasInstallScript } : {}),
            _id: `${name}@${version}`,
            dist: {
              tarball: `${base}-/${encodeURIComponent(name)}/${version}.tgz`,
              integrity,
              shasum,
            },
          },
        ] as const;
      }),
    );
    const latest = [...versions.keys()].sort(compareVersions).at(-1)!;
    return { name, 'dist-tags': { latest }, versions: Object.fromEntries(entries) };
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', base).pathname).slice(1);
    const tarball = /^-\/(.+)\/([^/]+)\.tgz$/.exec(path);
    if (tarball && packages.get(tarball[1]!)?.has(tarball[2]!)) {
      const { data } = await tarballOf(tarball[1]!, tarball[2]!);
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      response.end(data);
      return;
    }
    if (!tarball && request.method === 'GET' && packages.has(path)) {
      requested.push(path);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(await packument(path)));
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: 'not_found' }));
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
  return {
    url: base,
    requested,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Orders `MAJOR.MINOR.PATCH[-PRE]` versions; a prerelease sorts before its release. */
function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core, pre] = v.split('-', 2) as [string, string | undefined];
    return { parts: core.split('.').map(Number), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.parts[i] ?? 0) - (y.parts[i] ?? 0);
    if (d !== 0) return d;
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}
