import { ToilError } from '@toil/core';

/** What `--sshOption` values can change, in OpenSSH's own spelling. */
export interface SshOptionSettings {
  port?: number;
  username?: string;
  privateKeyPath?: string;
  readyTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** `StrictHostKeyChecking=no`: the same as `--insecure`. */
  insecure?: boolean;
  /** `-L [bind:]port:host:hostport` / `LocalForward`. */
  forwards: Array<{
    localAddress?: string;
    localPort: number;
    remoteHost: string;
    remotePort: number;
  }>;
}

const SUPPORTED =
  'supported: -o Port=N, User=U, IdentityFile=F, ConnectTimeout=S, ServerAliveInterval=S, ServerAliveCountMax=N, StrictHostKeyChecking=no, LocalForward="P HOST:P"; -p PORT, -l USER, -i FILE, -L [BIND:]PORT:HOST:PORT';

function invalid(option: string, why: string): ToilError {
  return new ToilError(
    'SSH_OPTION_INVALID',
    `Cannot use --sshOption ${JSON.stringify(option)}: ${why}.`,
    {
      hint: `toil talks SSH itself (no ssh binary), so only some ssh options apply; ${SUPPORTED}.`,
      data: { option },
    },
  );
}

function number(option: string, value: string, what: string): number {
  if (!/^\d+$/.test(value))
    throw invalid(option, `${what} must be a whole number, not ${JSON.stringify(value)}`);
  return Number(value);
}

function forward(option: string, spec: string): SshOptionSettings['forwards'][number] {
  const parts = spec.startsWith('[') ? spec.split(/:(?![^[]*\])/) : spec.split(':');
  if (parts.length !== 3 && parts.length !== 4)
    throw invalid(option, 'a forward is [BIND:]PORT:HOST:HOSTPORT');
  const [bind, port, host, hostPort] = parts.length === 4 ? parts : [undefined, ...parts];
  return {
    ...(bind ? { localAddress: bind } : {}),
    localPort: number(option, port!, 'the local port'),
    remoteHost: host!.replace(/^\[|\]$/g, ''),
    remotePort: number(option, hostPort!, 'the remote port'),
  };
}

/**
 * Reads `--sshOption` values the way ssh reads its command line (`-o Key=Value`, `-p`, `-l`,
 * `-i`, `-L`, with or without a space before the value) into connection settings. Options
 * that have no meaning here are refused with `SSH_OPTION_INVALID` (a usage error) rather than
 * silently ignored.
 */
export function parseSshOptions(values: readonly string[]): SshOptionSettings {
  const settings: SshOptionSettings = { forwards: [] };
  const words = values.flatMap((v) => v.trim().split(/\s+/).filter(Boolean));
  const keyValue = (option: string, text: string) => {
    const m = /^([A-Za-z]+)\s*[= ]\s*(.+)$/.exec(text);
    if (!m) throw invalid(option, 'expected Key=Value');
    const [, key, value] = m as unknown as [string, string, string];
    switch (key.toLowerCase()) {
      case 'port':
        settings.port = number(option, value, 'Port');
        break;
      case 'user':
        settings.username = value;
        break;
      case 'identityfile':
        settings.privateKeyPath = value;
        break;
      case 'connecttimeout':
        settings.readyTimeoutMs = number(option, value, 'ConnectTimeout') * 1000;
        break;
      case 'serveraliveinterval':
        settings.keepaliveIntervalMs = number(option, value, 'ServerAliveInterval') * 1000;
        break;
      case 'serveralivecountmax':
        settings.keepaliveCountMax = number(option, value, 'ServerAliveCountMax');
        break;
      case 'stricthostkeychecking':
        if (!/^(no|off)$/i.test(value))
          throw invalid(
            option,
            'host keys are always checked against the pinned ones unless StrictHostKeyChecking=no (or --insecure)',
          );
        settings.insecure = true;
        break;
      case 'localforward': {
        const [port, target] = value.split(/\s+/);
        if (!target) throw invalid(option, 'LocalForward is "PORT HOST:HOSTPORT"');
        settings.forwards.push(forward(option, `${port}:${target}`));
        break;
      }
      default:
        throw invalid(option, `${key} is not supported`);
    }
  };
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const m = /^-([oplLi])(.*)$/.exec(word);
    if (!m) throw invalid(word, 'not an ssh option');
    const flag = m[1]!;
    let value = m[2]!;
    if (!value) {
      value = words[++i] ?? '';
      if (!value) throw invalid(word, 'it needs a value');
    }
    const shown = `-${flag} ${value}`;
    if (flag === 'o') {
      // -o LocalForward="8080 localhost:80" arrives split on the space.
      if (/^localforward[= ]?$/i.test(value) || /^localforward=\d+$/i.test(value))
        value = `${value} ${words[++i] ?? ''}`;
      keyValue(shown, value.replace(/^(\w+)=/, '$1=').replace(/"/g, ''));
    } else if (flag === 'p') settings.port = number(shown, value, 'the port');
    else if (flag === 'l') settings.username = value;
    else if (flag === 'i') settings.privateKeyPath = value;
    else settings.forwards.push(forward(shown, value));
  }
  return settings;
}
