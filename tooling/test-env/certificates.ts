import { execFileSync } from 'node:child_process';

/**
 * Makes a self-signed certificate `out` (its key in `key`) for `subject` with `openssl req`
 * (P-256, valid two days); `more` adds options such as `-addext subjectAltName=IP:127.0.0.1`.
 */
export function selfSignedCertificate(
  out: string,
  key: string,
  subject: string,
  more: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      out,
      '-days',
      '2',
      '-subj',
      subject,
      ...more,
    ],
    { stdio: 'ignore', env },
  );
}
