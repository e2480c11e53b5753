import type { Claimed, NewDelivery, SendRequest } from '../contract.ts';
import { requestText } from './request-text.ts';
import type { Entry } from './scheduler.ts';

/**
 * The deliveries the writing thread has committed, as split mode hands them to the delivery
 * thread: the five values its queue needs (`keys`: id, order_key, call_id, event_seq,
 * next_attempt_at per delivery) and, per delivery, one byte array with the rest (a JSON line of
 * the other fields, then the body), transferred, not copied.
 *
 * Why: in workload (b) the API thread runs 20,000–30,000 deliveries ahead of the sender, and
 * those offers wait in the delivery thread's heap. As objects (a dozen strings, three objects
 * and a ~1 KB body string each) every young-generation GC copied them twice (to the other
 * semi-space, then to the old generation). A byte array's contents live outside the JS heap: a
 * waiting offer is its queue entry, its three key strings and one small typed array, and is
 * decoded only when claimed. The delivery thread's scavenges in one bench run
 * (`--trace-gc-nvp`, pauses + helper threads): 1.72 s of CPU as objects, 1.26 s as bytes.
 */
export interface PackedOffers {
  keys: (string | number)[];
  blobs: Uint8Array[];
}

const KEYS = 5;
const NEWLINE = 0x0a;

/** What is kept of an offer until its claim: its JSON line and body (see `freshDelivery`). */
export type Fresh = Uint8Array;

/** The offers of one message, and the buffers to transfer with it. */
export function packOffers(ds: readonly NewDelivery[]): { packed: PackedOffers; transfer: ArrayBuffer[] } {
  const keys: (string | number)[] = [];
  const blobs: Uint8Array[] = [];
  const transfer: ArrayBuffer[] = [];
  for (const d of ds) {
    keys.push(d.id, d.order_key, d.call_id, d.event_seq, d.next_attempt_at);
    const r = d.request;
    // JSON.stringify escapes every newline: the first byte 0x0a ends the line.
    const line = `${JSON.stringify([d.account_id, d.event_type, d.event_name, d.target_format, d.target_id, d.created_at]).slice(0, -1)},${requestText(r)},${r.body === null}]`;
    const body = r.body ?? '';
    const lineBytes = Buffer.byteLength(line);
    // Not from Buffer's shared pool: each array owns its ArrayBuffer, so it can be transferred
    // and is freed with its offer.
    const blob = Buffer.allocUnsafeSlow(lineBytes + 1 + Buffer.byteLength(body));
    blob.write(line, 0, 'utf8');
    blob[lineBytes] = NEWLINE;
    blob.write(body, lineBytes + 1, 'utf8');
    blobs.push(blob);
    transfer.push(blob.buffer as ArrayBuffer);
  }
  return { packed: { keys, blobs }, transfer };
}

type Line = [string, string, string, string, string, number, Pick<SendRequest, 'method' | 'url' | 'headers'>, boolean];

/** The offer at `i` as the queue takes it (Scheduler.add). */
export function offerKeys(p: PackedOffers, i: number): Pick<NewDelivery, 'id' | 'order_key' | 'call_id' | 'event_seq' | 'next_attempt_at'> {
  const k = p.keys;
  const o = i * KEYS;
  return { id: k[o] as string, order_key: k[o + 1] as string, call_id: k[o + 2] as string, event_seq: k[o + 3] as number, next_attempt_at: k[o + 4] as number };
}

/**
 * A kept offer, claimed for its first attempt, as the delivery it was when written (nothing of
 * it has changed since), in the state the queue holds it in: the queue entry gives the keys and
 * the state, the bytes the rest. Its body stays the bytes it came in, signed and sent as they are
 * (no text made of them, and none encoded again).
 */
export function freshDelivery(e: Entry, fresh: Fresh): Claimed {
  const b = Buffer.from(fresh.buffer, fresh.byteOffset, fresh.byteLength);
  const end = b.indexOf(NEWLINE);
  const [account_id, event_type, event_name, target_format, target_id, created_at, { method, url, headers }, noBody] = JSON.parse(b.toString('utf8', 0, end)) as Line;
  return {
    id: e.id, account_id, call_id: e.call_id, event_seq: e.seq, event_type, event_name, target_format, target_id,
    order_key: e.order_key, request: { method, url, headers, body: noBody ? null : b.subarray(end + 1) },
    created_at, next_attempt_at: e.next_at,
    // as the queue holds it now (queue.ts withState, built here in one go)
    status: e.state, attempts: e.attempts, locked_by: e.owner, locked_until: e.lease_until, updated_at: created_at, last_status_code: null, last_error: null,
  };
}
