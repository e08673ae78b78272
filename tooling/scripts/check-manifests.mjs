#!/usr/bin/env node
// Part of `pnpm lint` (after knip, which finds unused and unlisted dependencies): checks every
// packages/* manifest for what a release needs, and that an @toil/* package a package imports
// only for its types is a peer dependency (so pinning one package never installs a second copy
// of another). Prints one line per problem; exit status 1 when there is any.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const license = readFileSync(join(root, 'LICENSE'), 'utf8');
const problems = [];

/** Every .ts file under `dir`. */
function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** For each @toil/* package imported by `files`: whether any import of it is a value import. */
function toilImports(files) {
  const used = new Map();
  const pattern =
    /\b(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"](@toil\/[^/'"]+)|\bimport\(\s*['"](@toil\/[^/'"]+)/g;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(pattern)) {
      const name = match[3] ?? match[4];
      const value = match[4] !== undefined || match[2] === undefined;
      used.set(name, (used.get(name) ?? false) || value);
    }
  }
  return used;
}

for (const dir of readdirSync(join(root, 'packages')).sort()) {
  const path = join(root, 'packages', dir);
  if (!existsSync(join(path, 'package.json'))) continue;
  const pkg = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8'));
  const say = (text) => problems.push(`packages/${dir}: ${text}`);
  if (pkg.name !== `@toil/${dir}`) say(`name must be @toil/${dir}`);
  for (const field of ['description', 'license', 'homepage', 'engines', 'exports'])
    if (!pkg[field]) say(`package.json has no "${field}"`);
  if (!Array.isArray(pkg.keywords) || pkg.keywords.length === 0)
    say('package.json has no "keywords"');
  if (!pkg.bugs?.url) say('package.json has no "bugs.url"');
  if (pkg.repository?.directory !== `packages/${dir}`)
    say(`"repository.directory" must be packages/${dir}`);
  if (pkg.publishConfig?.access !== 'public') say('"publishConfig.access" must be public');
  for (const entry of ['dist', 'CHANGELOG.md'])
    if (!pkg.files?.includes(entry)) say(`"files" must include ${entry}`);
  if (!existsSync(join(path, 'README.md'))) say('no README.md');
  if (!existsSync(join(path, 'LICENSE')) || readFileSync(join(path, 'LICENSE'), 'utf8') !== license)
    say('LICENSE must be a copy of the repository LICENSE (cp LICENSE packages/NAME/)');
  const deps = pkg.dependencies ?? {};
  const peers = pkg.peerDependencies ?? {};
  const dev = pkg.devDependencies ?? {};
  for (const name of Object.keys(peers))
    if (!dev[name]) say(`peer dependency ${name} must also be a devDependency (to build and test)`);
  if (!existsSync(join(path, 'src'))) continue;
  for (const [name, value] of toilImports(sources(join(path, 'src')))) {
    if (name === pkg.name) continue;
    if (!value && deps[name])
      say(`${name} is imported for its types only: make it a peerDependency, not a dependency`);
  }
}

for (const problem of problems) console.log(problem);
if (problems.length === 0) console.log('manifests ok');
process.exitCode = problems.length > 0 ? 1 : 0;
