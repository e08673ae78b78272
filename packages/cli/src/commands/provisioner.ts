import { loadProvisioner, resolveZone, type Provisioner } from '@toil/provisioner';
import type { CommandContext } from '../command.js';

/**
 * The provisioner a cluster command names (`--provisioner`, `--zone` or
 * `TOIL_<NAME>_ZONE`, `--project`), imported only now and resolved next to this CLI, which depends on
 * the provisioner packages.
 */
export function openProvisioner(
  args: { provisioner: string; zone?: string; project?: string },
  context: CommandContext,
): Promise<Provisioner> {
  return loadProvisioner(
    args.provisioner,
    {
      zone: resolveZone(args.provisioner, args.zone),
      host: context.host,
      ...(args.project === undefined ? {} : { project: args.project }),
    },
    (specifier) => import(specifier),
  );
}

/** A duration in seconds as people say it: `42s`, `5m`, `3h`, `2d`. */
export function formatAge(seconds: number): string {
  if (seconds < 60) return `${Math.max(0, Math.floor(seconds))}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}
