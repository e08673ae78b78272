import { ToilError } from '@toil/core';
import './errors.js';
import type { Provisioner, ProvisionerConfig, ProvisionerModule } from './contract.js';

/** The provisioners `--provisioner` accepts, and the package that implements each. */
export const PROVISIONER_PACKAGES = {
  aws: '@toil/provisioner-aws',
  gce: '@toil/provisioner-gce',
} as const;

/** A name `--provisioner` accepts. */
export type ProvisionerName = keyof typeof PROVISIONER_PACKAGES;

/** The names `--provisioner` accepts, in help order. */
export const PROVISIONER_NAMES = Object.keys(PROVISIONER_PACKAGES) as ProvisionerName[];

/** The provisioners whose clouds have projects, so `--project` means something to them. */
const WITH_PROJECTS: readonly string[] = ['gce'];

/**
 * Imports a module by its specifier. The CLI passes its own `(s) => import(s)` so that the
 * provisioner packages resolve next to the CLI, which depends on them.
 */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

/** The package that implements a provisioner; throws `PROVISIONER_UNKNOWN` for other names. */
export function provisionerPackage(name: string): string {
  if (Object.hasOwn(PROVISIONER_PACKAGES, name))
    return PROVISIONER_PACKAGES[name as ProvisionerName];
  throw new ToilError('PROVISIONER_UNKNOWN', `Invalid provisioner '${name}'.`, {
    hint: `Use --provisioner ${PROVISIONER_NAMES.join(' or ')}.`,
    data: { provisioner: name },
  });
}

function isModuleNotFound(error: unknown, specifier: string): boolean {
  const e = error as { code?: string; message?: string };
  return (
    (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') &&
    typeof e.message === 'string' &&
    e.message.includes(specifier)
  );
}

/**
 * The one way to get a provisioner by name: `aws` → `@toil/provisioner-aws`, `gce` →
 * `@toil/provisioner-gce`. The package is imported only now, so commands that need no cloud
 * never load a cloud SDK.
 *
 * @throws ToilError `PROVISIONER_UNKNOWN` for another name, `INVALID_ARGUMENT` for a
 *   `project` given to a provisioner without projects, `PROVISIONER_NOT_INSTALLED` when the
 *   package cannot be found, `INTERNAL` when it does not export `createProvisioner`.
 */
export async function loadProvisioner(
  name: string,
  config: ProvisionerConfig,
  importer: ModuleImporter = (specifier) => import(specifier),
): Promise<Provisioner> {
  const specifier = provisionerPackage(name);
  if (config.project !== undefined && !WITH_PROJECTS.includes(name))
    throw new ToilError('INVALID_ARGUMENT', `--project is for --provisioner gce only.`, {
      hint: `The ${name} provisioner has no projects: leave --project out.`,
      data: { provisioner: name },
    });
  let loaded: unknown;
  try {
    loaded = await importer(specifier);
  } catch (error) {
    if (isModuleNotFound(error, specifier))
      throw new ToilError(
        'PROVISIONER_NOT_INSTALLED',
        `The ${name} provisioner needs ${specifier}, which is not installed.`,
        { hint: `Install it next to @toil/cli: npm install ${specifier}`, cause: error },
      );
    throw error;
  }
  const module = loaded as Partial<ProvisionerModule> & { default?: Partial<ProvisionerModule> };
  const create = module.createProvisioner ?? module.default?.createProvisioner;
  if (typeof create !== 'function')
    throw new ToilError('INTERNAL', `${specifier} does not export createProvisioner().`, {
      hint: 'Install matching versions of @toil/cli and the provisioner packages.',
    });
  return await create(config);
}

/**
 * The zone for a command: `--zone`, else `TOIL_<NAME>_ZONE` (`TOIL_AWS_ZONE`,
 * `TOIL_GCE_ZONE`), as Toil's launch-cluster does.
 *
 * @throws ToilError `ZONE_MISSING` when `required` and neither is set.
 */
export function resolveZone(
  provisioner: string,
  zone: string | undefined,
  options: { env?: NodeJS.ProcessEnv; required?: boolean } = {},
): string | undefined {
  const env = options.env ?? process.env;
  const variable = `TOIL_${provisioner.toUpperCase()}_ZONE`;
  const resolved = zone || env[variable] || undefined;
  if (resolved === undefined && options.required)
    throw new ToilError(
      'ZONE_MISSING',
      `Please provide a value for --zone or set a default in the ${variable} environment variable.`,
      { hint: `For example: --zone ${provisioner === 'gce' ? 'us-west1-a' : 'us-west-2a'}` },
    );
  return resolved;
}
