/**
 * What the delivery log may show of a request. Secrets never reach the log (principle 5): any
 * header or query parameter whose name suggests a credential is replaced.
 */
const SECRET_NAME = /auth|signature|secret|token|key|cookie|password|session/i;
export const REDACTED = '[redacted]';

export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = SECRET_NAME.test(k) ? REDACTED : v;
  return out;
}

export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  if (u.username || u.password) {
    u.username = '';
    u.password = '';
  }
  let changed = false;
  for (const k of [...u.searchParams.keys()]) {
    if (SECRET_NAME.test(k)) {
      u.searchParams.set(k, REDACTED);
      changed = true;
    }
  }
  return changed || url !== u.toString() ? u.toString() : url;
}
