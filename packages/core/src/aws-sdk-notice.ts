import { report, type IoHost } from './host.js';

/** The AWS SDK's switch for its Node-version notice (read when a client is made). */
export const AWS_SDK_NODE_NOTICE_ENV = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/**
 * The AWS SDK for JavaScript prints a multi-line `NodeVersionSupportWarning` on stderr when it
 * runs on Node < 22 (its releases from January 2027 need 22). A library must not print, so
 * unless the user set the SDK's switch, this turns the notice off (in `env`, before a client
 * is made) and reports it through the host instead, as the debug event `AWS_SDK_NODE_NOTICE`.
 * Used by every package that makes AWS SDK clients (the `aws:` job store, the AWS provisioner).
 */
export function routeAwsSdkNodeNotice(
  host: IoHost,
  env: NodeJS.ProcessEnv = process.env,
  nodeVersion: string = process.version,
): void {
  const major = Number(nodeVersion.replace(/^v/, '').split('.')[0]);
  if (major >= 22 || env[AWS_SDK_NODE_NOTICE_ENV] !== undefined) return;
  env[AWS_SDK_NODE_NOTICE_ENV] = 'true';
  report(
    host,
    'debug',
    'AWS_SDK_NODE_NOTICE',
    `The AWS SDK for JavaScript releases from January 2027 need Node 22 or later; this is Node ${nodeVersion}.`,
  );
}
