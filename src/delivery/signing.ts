/**
 * Request signatures (SPEC §5): Standard Webhooks for the native `standard` format, and Bird's
 * `messagebird-signature` for the `channels` format. Pure functions over strings; the dispatcher
 * decides which headers a request carries.
 */
import { createHash, createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** Standard Webhooks keys are 24..64 bytes (the spec's bounds; Svix generates 24). */
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

/** Canonical standard base64 with padding: what the reference libraries decode. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A new `whsec_` secret: 24 random bytes, the size Svix and the reference libraries generate. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(MIN_SECRET_BYTES).toString('base64');
}

/**
 * Accepts user-supplied secrets only in the exact form a receiver's library will decode the
 * same way: Node's base64 decoder is lenient (it skips stray characters), so a sloppy secret
 * could sign with different key bytes than the receiver verifies with.
 */
export function isValidSecret(s: string): boolean {
  if (!s.startsWith(SECRET_PREFIX)) return false;
  const b64 = s.slice(SECRET_PREFIX.length);
  if (b64.length === 0 || !BASE64.test(b64)) return false;
  const n = Buffer.from(b64, 'base64').length;
  return n >= MIN_SECRET_BYTES && n <= MAX_SECRET_BYTES;
}

// Decoded keys, by secret: decoding and KeyObject checks on every send cost ~2-3% of the
// dispatcher's CPU (bench profile). Bounded so rotated-out secrets do not pile up.
const keys = new Map<string, KeyObject>();
const MAX_CACHED_KEYS = 10_000;

/** The HMAC key of a secret: the base64 after `whsec_`, or the whole string when unprefixed (as the spec's libraries do). */
function secretKey(secret: string): KeyObject {
  let key = keys.get(secret);
  if (key) return key;
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const bytes = Buffer.from(b64, 'base64');
  // An empty key would sign with no secret at all: better to fail the delivery loudly.
  if (bytes.length === 0) throw new Error('webhook secret decodes to an empty key');
  key = createSecretKey(bytes);
  if (keys.size >= MAX_CACHED_KEYS) keys.clear();
  keys.set(secret, key);
  return key;
}

function checkTimestamp(timestampSec: number): void {
  // `${1.5}` or `${1e21}` would sign a string no receiver reconstructs from the header.
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0) throw new RangeError(`timestamp must be whole unix seconds, got ${timestampSec}`);
}

/**
 * The `webhook-signature` value: one `v1,<base64 HMAC-SHA256>` per secret, space-separated, so
 * during a rotation receivers holding either the old or the new secret can verify.
 */
export function standardSignature(secrets: readonly string[], msgId: string, timestampSec: number, body: string | Uint8Array): string {
  if (secrets.length === 0) throw new Error('at least one secret is required to sign');
  checkTimestamp(timestampSec);
  // The body goes to the HMAC as it is (hashed as UTF-8): no ~1 KB joined string and Buffer per attempt.
  const head = `${msgId}.${timestampSec}.`;
  return secrets.map((s) => 'v1,' + createHmac('sha256', secretKey(s)).update(head).update(body).digest('base64')).join(' ');
}

/** The three Standard Webhooks headers for one request, set on `into` (a new object by default). */
export function standardHeaders(
  secrets: readonly string[], msgId: string, timestampSec: number, body: string | Uint8Array, into: Record<string, string> = {},
): Record<string, string> {
  into['webhook-id'] = msgId;
  into['webhook-timestamp'] = String(timestampSec);
  into['webhook-signature'] = standardSignature(secrets, msgId, timestampSec, body);
  return into;
}

/**
 * The URL a request for `url` is sent to, as a receiver sees it: WHATWG-normalised (scheme and
 * host in lower case, a default port dropped, `/` for an empty path, spaces and non-ASCII
 * percent-encoded), the fragment left out. The sender requests exactly `origin + path + query`
 * (sender.ts #parse); a signature over the URL as the user typed it (`https://hooks.example.com`)
 * would not verify against the one requested (`https://hooks.example.com/`).
 */
export function requestedUrl(url: string): string {
  const u = new URL(url);
  return u.origin + u.pathname + u.search;
}

/**
 * Bird's `messagebird-signature`: Base64(HMAC-SHA256(signingKey, `${timestamp}\n${url}\n` ++
 * SHA-256(body))). The key is the signing key's UTF-8 text (Bird does not base64-decode it), and
 * the body digest goes in as its 32 raw bytes, not hex. `url` must be the exact URL requested
 * (requestedUrl).
 */
export function channelsSignature(signingKey: string, timestampSec: number, url: string, body: string | Uint8Array): string {
  checkTimestamp(timestampSec);
  const bodyDigest = (typeof body === 'string' ? createHash('sha256').update(body, 'utf8') : createHash('sha256').update(body)).digest();
  return createHmac('sha256', Buffer.from(signingKey, 'utf8'))
    .update(Buffer.from(`${timestampSec}\n${url}\n`, 'utf8'))
    .update(bodyDigest)
    .digest('base64');
}
