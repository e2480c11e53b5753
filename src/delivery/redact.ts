/**
 * What the delivery log may show of a request. Secrets never reach the log (principle 5): any
 * header or query parameter whose name suggests a credential is replaced.
 */
// Names, not values, decide: `x-api-key`, `Authorization`, `access_token`, `sessionid`… are hidden;
// seed-003 parameters such as `Session.LandingUri` or `Call.Prompts.Keys` are not credentials.
const SECRET_NAME = /auth|signature|secret|token|api[-_]?key|password|passwd|cookie|credential|session[-_]?id|^key$|[-_.]key$/i;
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

/**
 * Views show credential-like headers as [redacted]; headers saved back as shown keep their
 * stored values (names compared case-insensitively).
 */
export function restoreRedacted(given: Record<string, string>, saved: Record<string, string> | undefined): Record<string, string> {
  const stored = new Map(Object.entries(saved ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(given)) out[k] = v === REDACTED ? (stored.get(k.toLowerCase()) ?? v) : v;
  return out;
}
