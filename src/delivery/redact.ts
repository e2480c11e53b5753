/**
 * What the delivery log may show of a request. Secrets never reach the log (principle 5): any
 * header or query parameter whose name suggests a credential is replaced.
 */
// Names, not values, decide: `x-api-key`, `Authorization`, `access_token`, `sessionid`… are hidden;
// seed-003 parameters such as `Session.LandingUri` or `Call.Prompts.Keys` are not credentials.
const SECRET_NAME = /auth|signature|secret|token|api[-_]?key|password|passwd|cookie|credential|session[-_]?id|^key$|[-_.]key$/i;
export const REDACTED = '[redacted]';

// Both run for every attempt's log entry, on the few header names and URLs of a service's
// targets: the answers are kept (bounded), instead of a regex per header and a URL parse per
// attempt (~3 µs an attempt in the bench profile).
const MAX_MEMO = 1_000;
const secretNames = new Map<string, boolean>();
const redactedUrls = new Map<string, string>();

function remember<T>(memo: Map<string, T>, key: string, value: T): T {
  if (memo.size >= MAX_MEMO) memo.clear();
  memo.set(key, value);
  return value;
}

function isSecretName(name: string): boolean {
  return secretNames.get(name) ?? remember(secretNames, name, SECRET_NAME.test(name));
}

// A value that carries a credential whatever its header is called (`X-Custom: Bearer …`).
// A JWT (eyJ….…) or a Stripe-style key (sk_live_…) is one too.
const SECRET_VALUE = /^(bearer|basic|digest|token|apikey)\s+\S|^whsec_|^eyJ[\w-]+\.[\w-]+|^[sr]k_(live|test)_/i;

/**
 * `byValue`: a value that reads as a credential is hidden too. Off only for the attempt's own
 * headers (webhook-id, seq, attempt, signatures: Hookline's, named for what they are), which
 * are redacted for every attempt and are not worth a regex each.
 */
export function redactHeaders(headers: Record<string, string>, byValue = true): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in headers) {
    const v = headers[k]!;
    out[k] = isSecretName(k) || (byValue && SECRET_VALUE.test(v)) ? REDACTED : v;
  }
  return out;
}

export function redactUrl(url: string): string {
  return redactedUrls.get(url) ?? remember(redactedUrls, url, redactUrlNow(url));
}

function redactUrlNow(url: string): string {
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
