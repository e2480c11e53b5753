import { randomBytes, randomFillSync } from 'node:crypto';

// Crockford base32: ids sort by creation time, which cursor pagination relies on.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

let lastTime = 0;
const lastRandom = new Uint8Array(10);
/**
 * Random bytes drawn 4,000 at a time: a call to the CSPRNG costs the same for 10 bytes as for
 * a few thousand (~4 µs here), and at the bench's fixed rate nearly every id falls in a new
 * millisecond, so randomBytes(10) per id was 2.7 % of the API thread (--cpu-prof).
 */
const POOL = new Uint8Array(4000);
let poolAt = POOL.length;

function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/**
 * A ULID-style id with a prefix: `call_01j…`. Monotonic within one process: two ids made in the
 * same millisecond still sort in the order they were made (the random part is incremented).
 */
export function newId(prefix: string, now = Date.now()): string {
  if (now <= lastTime) {
    for (let i = lastRandom.length - 1; i >= 0; i--) {
      const v = lastRandom[i]! + 1;
      lastRandom[i] = v & 0xff;
      if (v <= 0xff) break;
    }
    now = lastTime;
  } else {
    lastTime = now;
    if (poolAt === POOL.length) {
      randomFillSync(POOL);
      poolAt = 0;
    }
    lastRandom.set(POOL.subarray(poolAt, (poolAt += lastRandom.length)));
    lastRandom[0]! &= 0x7f; // headroom so increments within one millisecond never wrap
  }
  return `${prefix}_${encodeTime(now)}${encodeRandom(lastRandom)}`;
}

/**
 * The smallest id `newId(prefix)` could make at `ms`: every id made before `ms` sorts below it,
 * so it bounds a list by creation time (`created_before`).
 */
export function idFloor(prefix: string, ms: number): string {
  return `${prefix}_${encodeTime(Math.max(0, Math.floor(ms)))}${'0'.repeat(16)}`;
}

/**
 * What `newId(prefix)` makes: the prefix, `_`, 10 time and 16 random characters of the alphabet.
 * A cursor is checked against this, so a made-up one is refused instead of paging from nowhere.
 */
export function newIdShape(prefix: string): RegExp {
  return new RegExp(`^${prefix}_[${ALPHABET}]{26}$`);
}

/** A random token for secrets and API keys: base64url of n bytes. */
export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
