/**
 * The headers of one attempt, in two parts: those every delivery of a request head shares (the
 * user agent and the target's own headers, rendered once per head: `SharedHeaders`), and the
 * attempt's own (`webhook-id`, the event's seq, the attempt, the signatures).
 *
 * Why two parts: a target's deliveries share one headers object (formats/format.ts
 * targetHeaders; split mode decodes one per message and target: packed-offers.ts), and its ~10
 * headers were copied into a new object, written into the HTTP head one by one, copied again
 * redacted for the log and turned into JSON, for every attempt. Rendered once, an attempt
 * writes and logs only its five or six own headers. (Allocation sampling of workload (b): the
 * request head, the copies and the log's JSON were ~2.5 KB of the delivery thread's ~12.7 KB a
 * delivery, and what it allocates is what its scavenges, on the drain's critical path, cost.)
 */
import type { SendRequest } from '../store/contract.ts';
import { formatOf } from '../formats/registry.ts';
import type { SendSettings } from '../targets/model.ts';
import { headerProblem } from './http1.ts';
import { redactHeaders, redactUrl } from './redact.ts';
import { standardHeaders } from './signing.ts';

export const USER_AGENT = 'Hookline/0.1 (+webhooks)';

/** The headers all attempts of one request head share, rendered once. */
export interface SharedHeaders {
  /** the user agent, then the request's own headers */
  readonly all: Readonly<Record<string, string>>;
  /** `all` as HTTP/1.1 header lines (each ending in CRLF) */
  readonly lines: string;
  /** why `all` cannot be sent (a value holds a line break or NUL), or null */
  readonly bad: string | null;
  /** `all`, secrets redacted, as the members of a JSON object (no braces) */
  readonly logged: string;
  /** the log's head for the last method and URL asked (loggedHead), kept when `shared`: nearly always the one */
  head: { method: string; url: string; text: string } | null;
  /** rendered for many requests (kept by their headers object): worth caches of its own downstream */
  readonly shared: boolean;
}

/** One attempt's headers: the shared part, then its own (which never repeat a shared name). */
export interface AttemptHeaders {
  shared: SharedHeaders;
  own: Record<string, string>;
}

function render(all: Record<string, string>, shared: boolean): SharedHeaders {
  let lines = '';
  let bad: string | null = null;
  for (const k in all) {
    const v = all[k]!;
    bad ??= headerProblem(k, v);
    lines += `${k}: ${v}\r\n`;
  }
  return { all, lines, bad, logged: JSON.stringify(redactHeaders(all)).slice(1, -1), head: null, shared };
}

const NONE: SharedHeaders = render({}, false);
// By the request's (frozen) headers object: weak, so a message's request heads leave nothing
// behind once their deliveries are sent.
const rendered = new WeakMap<Readonly<Record<string, string>>, SharedHeaders>();

/**
 * The shared part of a request's attempts, rendered at its first attempt and kept when its
 * headers object is frozen: one a target's deliveries share (split mode's offers,
 * packed-offers.ts). A request read back from a row has headers of its own, never seen again:
 * kept, each would be a weak entry for the GC to clear, and a cache miss all the same.
 */
export function sharedHeaders(request: Pick<SendRequest, 'headers'>): SharedHeaders {
  const h = request.headers;
  if (!Object.isFrozen(h)) return render({ 'user-agent': USER_AGENT, ...h }, false);
  let s = rendered.get(h);
  if (s === undefined) {
    s = render({ 'user-agent': USER_AGENT, ...h }, true);
    rendered.set(h, s);
  }
  return s;
}

/** What the headers of one request depend on: the delivery (or a test's stand-in) and its attempt. */
export interface HeaderInput {
  id: string;
  event_seq: number;
  target_format: string;
  request: SendRequest;
}

/**
 * The headers one attempt sends: the target's own, `webhook-id` (stable across retries), the
 * event's seq, the attempt, Standard Webhooks signatures when the target has a secret (any
 * format), and the format's own signature. Live deliveries and tests both come here.
 */
export function attemptHeaders(d: HeaderInput, s: SendSettings, attempt: number, tsSec: number): AttemptHeaders {
  const own: Record<string, string> = { 'webhook-id': d.id, 'hookline-seq': String(d.event_seq), 'hookline-attempt': String(attempt) };
  // set on `own`: no object of their own per attempt
  if (s.secrets.length > 0) standardHeaders(s.secrets, d.id, tsSec, d.request.body ?? '', own);
  const sign = formatOf(d.target_format).sign;
  if (sign) Object.assign(own, sign(d.request, s, d.id, tsSec));
  const shared = sharedHeaders(d.request);
  for (const k in own) {
    // A target header of the same name: the attempt's value, in the target header's place
    // (as one object spread over the other would have it). Rare: not worth a shared part.
    if (k in shared.all) return { shared: NONE, own: { ...shared.all, ...own } };
  }
  return { shared, own };
}

/** All of one attempt's headers as one object (test deliveries, tests). */
export function deliveryHeaders(d: HeaderInput, s: SendSettings, attempt: number, tsSec: number): Record<string, string> {
  const h = attemptHeaders(d, s, attempt, tsSec);
  return { ...h.shared.all, ...h.own };
}

/**
 * The log's record of the request sent (Attempt['request'] as JSON: method, URL and headers,
 * secrets redacted) is loggedHead + loggedTail: the same text as JSON.stringify of that object.
 * The head (up to the shared headers) is one string for all attempts of a request head, made
 * once; the tail is the attempt's own headers. Kept apart until the row is written: the whole
 * text, a ~700-byte string made per attempt on the delivery thread (and made flat again to
 * cross to the writing thread), was ~1.2 KB of its allocations a delivery.
 */
export function loggedHead(method: string, url: string, shared: SharedHeaders): string {
  const h = shared.head;
  if (h !== null && h.method === method && h.url === url) return h.text;
  const text = `{"method":${JSON.stringify(method)},"url":${JSON.stringify(redactUrl(url))},"headers":{${shared.logged}`;
  // kept only where more attempts will ask (a request's own render is never asked again)
  if (shared.shared) shared.head = { method, url, text };
  return text;
}

export function loggedTail(h: AttemptHeaders): string {
  // Values checked only when the target's headers rode in `own` (shared NONE, logged ''): else own is Hookline's alone.
  const own = JSON.stringify(redactHeaders(h.own, h.shared.logged === '')).slice(1, -1);
  return h.shared.logged === '' || own === '' ? `${own}}}` : `,${own}}}`;
}
