const REDACTED = '***';

const SECRET_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // user:password@ in URLs
  [/([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]+):([^/\s@]+)@/gi, `$1$2:${REDACTED}@`],
  // AWS access key ids
  [/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, `$1${REDACTED}`],
  // key=value / key: value pairs whose key names a secret
  [
    /\b([A-Za-z0-9_-]*(?:secret|password|passwd|token|credential|api[_-]?key|session[_-]?key)[A-Za-z0-9_-]*)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi,
    `$1$2${REDACTED}`,
  ],
  // Authorization headers
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${REDACTED}`],
];

// C0 controls except tab and newline, DEL, and C1 controls (which include the CSI of ANSI escapes).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Removes credentials (URL passwords, AWS key ids, `secret=…`-style pairs, bearer tokens) and
 * terminal control characters from text that will be shown to a person or stored in a log.
 */
export function redact(text: string): string {
  let out = text.replace(CONTROL_CHARACTERS, '');
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
