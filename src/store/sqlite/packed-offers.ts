import type { Claimed, NewDelivery, SendRequest } from '../contract.ts';
import { requestText } from './request-text.ts';
import type { Entry, EntryState } from './entries.ts';

/**
 * The deliveries the writing thread has committed, as split mode hands them to the delivery
 * thread in one message: the values its queue needs and the rest of each as numbers (`keys`:
 * id, order_key, call_id, event_seq, next_attempt_at per delivery, then where its body ends,
 * its request's index, its labels' index, created_at and whether it has a body), the distinct
 * requests (method, URL, headers) and labels (account, format, target, event type and name) of
 * the message as JSON, once each, and one byte array, transferred, not copied, of the bodies.
 *
 * Why bytes: in workload (b) the API thread runs 20,000–30,000 deliveries ahead of the sender,
 * and those offers wait in the delivery thread's heap. As objects (a dozen strings, three objects
 * and a ~1 KB body string each) every young-generation GC copied them twice (to the other
 * semi-space, then to the old generation). Bytes live outside the JS heap: a waiting offer is
 * its queue entry, its three key strings, a view of the bytes and its request's shared object,
 * and is decoded only when claimed. (`--trace-gc-nvp`, the delivery thread's scavenges in one
 * bench run: 1.72 s of CPU as objects, 1.26 s as bytes.)
 *
 * Why one array and the requests apart (session 9): an ArrayBuffer of its own per delivery cost
 * an allocation, a transfer and a sweep by the GC each, and nearly every delivery of a message
 * has the same request head as many others (a target renders one headers object for all its
 * deliveries: formats/format.ts targetHeaders), so its JSON was written and parsed per delivery.
 * The labels apart likewise (session 15): a JSON line of them per delivery was a string written
 * on one thread and a parse, an array and five strings on the other, for the few values a
 * message's deliveries share.
 */
export interface PackedOffers {
  keys: (string | number)[];
  requests: string[];
  labels: string[];
  bytes: Uint8Array;
}

const KEYS = 10;
const END = 5;
const REQUEST = 6;
const LABELS = 7;
const CREATED = 8;
const NO_BODY = 9;

/** The parts of a request all deliveries of a target share, decoded once per message. */
export type RequestHead = Pick<SendRequest, 'method' | 'url' | 'headers'>;

/** The offers of one message, and the buffer to transfer with it. */
export function packOffers(ds: readonly NewDelivery[]): { packed: PackedOffers; transfer: ArrayBuffer[] } {
  const keys: (string | number)[] = [];
  const requests: string[] = [];
  const labels: string[] = [];
  const requestIndex = new Map<string, number>();
  // by target id, then event name (strings the deliveries of a call's write share: their hashes
  // are computed once), checked against the rest of the labels
  const labelIndex = new Map<string, Map<string, number>>();
  const labelled: NewDelivery[] = [];
  let total = 0;
  for (const d of ds) {
    const r = d.request;
    // the same string object for every delivery of a target (request-text.ts): hashed once
    const text = requestText(r);
    let ri = requestIndex.get(text);
    if (ri === undefined) {
      ri = requests.length;
      requests.push(text);
      requestIndex.set(text, ri);
    }
    let byName = labelIndex.get(d.target_id);
    if (byName === undefined) labelIndex.set(d.target_id, (byName = new Map()));
    let li = byName.get(d.event_name);
    if (li === undefined || !sameLabels(labelled[li]!, d)) {
      li = labels.length;
      labels.push(JSON.stringify([d.account_id, d.event_type, d.event_name, d.target_format, d.target_id]));
      labelled.push(d);
      byName.set(d.event_name, li);
    }
    total += r.body === null ? 0 : Buffer.byteLength(r.body);
    keys.push(d.id, d.order_key, d.call_id, d.event_seq, d.next_attempt_at, total, ri, li, d.created_at, r.body === null ? 1 : 0);
  }
  // Not from Buffer's shared pool: the array owns its ArrayBuffer, so it can be transferred.
  const bytes = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const d of ds) if (d.request.body !== null) at += bytes.write(d.request.body, at, 'utf8');
  return { packed: { keys, requests, labels, bytes }, transfer: [bytes.buffer as ArrayBuffer] };
}

const sameLabels = (a: NewDelivery, b: NewDelivery): boolean =>
  a.event_type === b.event_type && a.account_id === b.account_id && a.target_format === b.target_format;

/** How many offers a message holds. */
export function offerCount(p: PackedOffers): number {
  return p.keys.length / KEYS;
}

/** The offer at `i` as the queue takes it (Scheduler.add). */
export function offerKeys(p: PackedOffers, i: number): Pick<NewDelivery, 'id' | 'order_key' | 'call_id' | 'event_seq' | 'next_attempt_at'> {
  const k = p.keys;
  const o = i * KEYS;
  return { id: k[o] as string, order_key: k[o + 1] as string, call_id: k[o + 2] as string, event_seq: k[o + 3] as number, next_attempt_at: k[o + 4] as number };
}

/** The request heads of a message, decoded (once per message, not per delivery). */
function requestHeads(p: PackedOffers): RequestHead[] {
  return p.requests.map((t) => {
    const { method, url, headers } = JSON.parse(t) as RequestHead;
    return { method, url, headers: Object.freeze(headers) };
  });
}

/** The labels of a message's deliveries, decoded once per message. */
interface Labels {
  readonly account_id: string;
  readonly event_type: string;
  readonly event_name: string;
  readonly target_format: string;
  readonly target_id: string;
}

function labelsOf(p: PackedOffers): Labels[] {
  return p.labels.map((t) => {
    const [account_id, event_type, event_name, target_format, target_id] = JSON.parse(t) as string[];
    return { account_id: account_id!, event_type: event_type!, event_name: event_name!, target_format: target_format!, target_id: target_id! };
  });
}

/** Per offer, AT values in KeptMessage.at: where its body ends, its request head, its labels, 1 when it has no body. */
const AT = 4;

/** One message's kept offers: its bytes, and per offer where its body ends, its request head and labels, and when it was written. */
export interface KeptMessage {
  readonly bytes: Uint8Array;
  /** per offer i, from AT * i: its body's end in `bytes` (it starts where the one before ends), its head's index, its labels' index, no body (1) */
  readonly at: Uint32Array;
  /** per offer: created_at */
  readonly created: Float64Array;
  readonly heads: RequestHead[];
  readonly labels: Labels[];
  readonly size: number;
  refs: number;
}

/** One kept offer: its message and its index there. */
export interface KeptOffer {
  readonly msg: KeptMessage;
  readonly i: number;
}

/**
 * The offers kept for their first claim (split mode, on the delivery thread), bounded in count
 * and in bytes. An offer's bytes are a part of its message's array, so a message is held until
 * its last kept offer is claimed: the byte bound counts whole messages. Past either bound an
 * offer is not kept; its claim reads it from the rows, as after a restart.
 *
 * A kept offer is its message and its index, not a view of the bytes and an object of its own:
 * in workload (b) 20,000–30,000 offers wait here for ~1.5 s, long enough for every scavenge of
 * the delivery thread to copy them and promote them. A view of its bytes (a typed array) and an
 * object per offer made a waiting offer ~480 bytes of heap with its queue entry and id; ~370 so
 * (measured: 20,000 offers of 1,000-delivery messages, heap after a full GC).
 */
export class KeptOffers {
  readonly #byId = new Map<string, KeptOffer>();
  readonly #maxCount: number;
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(maxCount: number, maxBytes: number) {
    this.#maxCount = maxCount;
    this.#maxBytes = maxBytes;
  }

  /**
   * Keeps what fits of a message's offers, in order, but those at the indexes in `skip` (not in
   * the queue: spilled to the database); the rest are read from the rows at their claim.
   */
  keep(p: PackedOffers, skip?: ReadonlySet<number>): void {
    if (this.#full()) return;
    const k = p.keys;
    const n = offerCount(p);
    const at = new Uint32Array(AT * n);
    const created = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const o = i * KEYS;
      at[AT * i] = k[o + END] as number;
      at[AT * i + 1] = k[o + REQUEST] as number;
      at[AT * i + 2] = k[o + LABELS] as number;
      at[AT * i + 3] = k[o + NO_BODY] as number;
      created[i] = k[o + CREATED] as number;
    }
    const msg: KeptMessage = { bytes: p.bytes, at, created, heads: requestHeads(p), labels: labelsOf(p), size: p.bytes.byteLength, refs: 0 };
    for (let i = 0; i < n && !this.#full(); i++) {
      if (skip?.has(i)) continue;
      if (msg.refs++ === 0) this.#bytes += msg.size;
      this.#byId.set(k[i * KEYS] as string, { msg, i });
    }
  }

  #full(): boolean {
    return this.#byId.size >= this.#maxCount || this.#bytes >= this.#maxBytes;
  }

  /** The kept offer of delivery `id`, no longer kept (its message's bytes are held by it until it is dropped). */
  take(id: string): KeptOffer | undefined {
    const f = this.#byId.get(id);
    if (f === undefined) return undefined;
    this.#byId.delete(id);
    const m = f.msg;
    if (--m.refs === 0) this.#bytes -= m.size;
    return f;
  }

  get size(): number {
    return this.#byId.size;
  }

  get bytes(): number {
    return this.#bytes;
  }
}

/** What a kept offer's bytes hold beyond its queue entry, decoded at its first use. */
interface Decoded {
  labels: Labels;
  created_at: number;
  request: SendRequest;
}

function decode(o: KeptOffer): Decoded {
  const m = o.msg;
  const a = AT * o.i;
  const start = o.i === 0 ? 0 : m.at[a - AT]!;
  const { method, url, headers } = m.heads[m.at[a + 1]!]!;
  const body = m.at[a + 3] === 1 ? null : Buffer.from(m.bytes.buffer, m.bytes.byteOffset + start, m.at[a]! - start);
  return { labels: m.labels[m.at[a + 2]!]!, created_at: m.created[o.i]!, request: { method, url, headers, body } };
}

/**
 * A kept offer, claimed, as the delivery it was when written (nothing of it has changed since),
 * in the state the queue held it in at the claim: the queue entry gives the keys and the state,
 * the bytes the rest — decoded when first read, which for a chain's follower is when its turn
 * comes. Its body stays the bytes it came in, signed and sent as they are.
 *
 * Why lazily: in workload (b) a claim leases a call's five deliveries as one chain, sent one
 * after another; decoded at the claim, a follower's strings, request and views lived through
 * its predecessors' round trips, long enough for the delivery thread's scavenges to copy and
 * promote them (the allocation sampler's survivors: 15 % of the thread's, the largest source).
 * Only the scalars are copied at the claim; getters read the rest.
 */
class FreshClaimed implements Claimed {
  readonly id: string;
  readonly call_id: string;
  readonly order_key: string;
  readonly event_seq: number;
  readonly next_attempt_at: number;
  readonly status: EntryState;
  readonly attempts: number;
  readonly locked_by: string | null;
  readonly locked_until: number | null;
  readonly last_status_code = null;
  readonly last_error = null;
  #kept: KeptOffer;
  #d: Decoded | undefined;

  constructor(e: Entry, kept: KeptOffer) {
    this.id = e.id;
    this.call_id = e.call_id;
    this.order_key = e.order_key;
    this.event_seq = e.seq;
    this.next_attempt_at = e.next_at;
    this.status = e.state;
    this.attempts = e.attempts;
    this.locked_by = e.owner;
    this.locked_until = e.lease_until;
    this.#kept = kept;
  }

  #decoded(): Decoded {
    return (this.#d ??= decode(this.#kept));
  }

  get account_id(): string { return this.#decoded().labels.account_id; }
  get event_type(): string { return this.#decoded().labels.event_type; }
  get event_name(): string { return this.#decoded().labels.event_name; }
  get target_format(): string { return this.#decoded().labels.target_format; }
  get target_id(): string { return this.#decoded().labels.target_id; }
  get created_at(): number { return this.#decoded().created_at; }
  get updated_at(): number { return this.#decoded().created_at; }
  get request(): SendRequest { return this.#decoded().request; }
}

/** A kept offer, claimed for its first attempt (FreshClaimed). */
export function freshDelivery(e: Entry, kept: KeptOffer): Claimed {
  return new FreshClaimed(e, kept);
}
