/**
 * The kill loop's receiver and its arithmetic (issue 9). A real receiver on 127.0.0.1 tallies
 * every native delivery as it arrives: repeats of a webhook-id (at-least-once allows them; we
 * count them), a call's hookline-seq going backwards (per-call order forbids it), one event under
 * two webhook-ids (a second delivery row for one event). At the end the tally is held against
 * the calls' timelines read back from the API: what was committed but never arrived is lost.
 */
import type { CallView } from './call-helpers.ts';
import { answer, hook, type Hook } from './delivery-helpers.ts';
import { startReceiver, type Receiver } from './helpers.ts';

/** What the receiver and the timelines say, in counts; `samples` names a few of each fault. */
export interface DeliveryCounts {
  /** events in the timelines of the acknowledged calls */
  expected: number;
  /** of those, events that arrived at least once */
  received: number;
  /** every request the receiver got */
  requests: number;
  /** expected events that never arrived */
  lost: number;
  /** requests whose webhook-id had arrived before (allowed, counted) */
  duplicates: number;
  /** a new event of a call arriving after one with a higher seq of the same call */
  out_of_order: number;
  /** an event (call, seq) arriving under a second webhook-id */
  split_ids: number;
  /** one webhook-id carrying two different events */
  reused_ids: number;
  /** arrivals for no acknowledged call, or a seq past its timeline's end */
  unexpected: number;
  unreadable: number;
  /** timelines that are not seq 1..n, ended, with call.ended last */
  bad_timelines: number;
  /** calls whose timeline has other than one call.ended */
  ended_not_once: number;
  /** calls that received other than one distinct call.ended delivery */
  ended_received_not_once: number;
  samples: string[];
}

export class DeliveryTally {
  requests = 0;
  duplicates = 0;
  outOfOrder = 0;
  splitIds = 0;
  reusedIds = 0;
  unreadable = 0;
  readonly samples: string[] = [];
  /** webhook-id → "call/seq" of its first arrival */
  readonly #eventOf = new Map<string, string>();
  /** "call/seq" → the webhook-id it first arrived under */
  readonly #idOf = new Map<string, string>();
  /** call → highest seq arrived so far */
  readonly #maxSeq = new Map<string, number>();
  /** call → distinct seqs arrived */
  readonly #seqs = new Map<string, Set<number>>();
  /** call → seq of its call.ended, and how many distinct call.ended deliveries arrived */
  readonly #ended = new Map<string, { seq: number; ids: number }>();

  record(h: Hook): void {
    this.requests += 1;
    const key = `${h.call_id}/${h.seq}`;
    const first = this.#eventOf.get(h.id);
    if (first !== undefined) {
      // A repeat: the sender did not learn of the earlier success (killed before recording it).
      this.duplicates += 1;
      if (first !== key) this.#fault('reused', `webhook-id ${h.id} carried ${first} and then ${key}`);
      return;
    }
    this.#eventOf.set(h.id, key);
    if (this.#idOf.has(key)) {
      this.#fault('split', `${key} arrived under ${this.#idOf.get(key)} and ${h.id}`);
      return;
    }
    this.#idOf.set(key, h.id);
    const max = this.#maxSeq.get(h.call_id) ?? 0;
    if (h.seq < max) this.#fault('order', `call ${h.call_id}: seq ${h.seq} arrived after seq ${max}`);
    else this.#maxSeq.set(h.call_id, h.seq);
    let seqs = this.#seqs.get(h.call_id);
    if (!seqs) this.#seqs.set(h.call_id, (seqs = new Set()));
    seqs.add(h.seq);
    if (h.type === 'call.ended') {
      const e = this.#ended.get(h.call_id);
      if (e) e.ids += 1;
      else this.#ended.set(h.call_id, { seq: h.seq, ids: 1 });
    }
  }

  #fault(kind: 'reused' | 'split' | 'order', what: string): void {
    if (kind === 'reused') this.reusedIds += 1;
    else if (kind === 'split') this.splitIds += 1;
    else this.outOfOrder += 1;
    if (this.samples.length < 20) this.samples.push(`${kind}: ${what}`);
  }

  /**
   * Every delivery of the call has arrived: its call.ended did, and every seq up to it (a
   * timeline is seq 1..n with call.ended last, which the final count checks).
   */
  complete(callId: string): boolean {
    const e = this.#ended.get(callId);
    return e !== undefined && (this.#seqs.get(callId)?.size ?? 0) >= e.seq;
  }

  /** The figures, against the timelines of the calls the API acknowledged. */
  count(calls: CallView[]): DeliveryCounts {
    const samples = [...this.samples];
    const note = (s: string) => {
      if (samples.length < 40) samples.push(s);
    };
    let expected = 0;
    let received = 0;
    let badTimelines = 0;
    let endedNotOnce = 0;
    let endedReceivedNotOnce = 0;
    const known = new Map<string, number>();
    for (const c of calls) {
      known.set(c.id, c.events.length);
      const ends = c.events.filter((e) => e.type === 'call.ended').length;
      if (ends !== 1) {
        endedNotOnce += 1;
        note(`call ${c.id}: ${ends} call.ended in its timeline`);
      }
      const gapFree = c.events.every((e, i) => e.seq === i + 1);
      if (c.status !== 'ended' || !gapFree || c.events.at(-1)?.type !== 'call.ended') {
        badTimelines += 1;
        note(`call ${c.id} (${c.status}): ${c.events.map((e) => `${e.seq}:${e.type}`).join(', ')}`);
      }
      const got = this.#ended.get(c.id)?.ids ?? 0;
      if (got !== 1) {
        endedReceivedNotOnce += 1;
        note(`call ${c.id}: ${got} call.ended deliveries arrived`);
      }
      for (const e of c.events) {
        expected += 1;
        if (this.#idOf.has(`${c.id}/${e.seq}`)) received += 1;
        else note(`lost: call ${c.id} seq ${e.seq} ${e.type}`);
      }
    }
    let unexpected = 0;
    for (const key of this.#idOf.keys()) {
      const [callId, seq] = key.split('/') as [string, string];
      const n = known.get(callId);
      if (n === undefined || Number(seq) > n) {
        unexpected += 1;
        note(`unexpected: ${key}`);
      }
    }
    return {
      expected, received, requests: this.requests, lost: expected - received, duplicates: this.duplicates,
      out_of_order: this.outOfOrder, split_ids: this.splitIds, reused_ids: this.reusedIds, unexpected,
      unreadable: this.unreadable, bad_timelines: badTimelines, ended_not_once: endedNotOnce,
      ended_received_not_once: endedReceivedNotOnce, samples,
    };
  }
}

/**
 * A receiver that tallies as requests arrive and answers 200 after 0–8 ms, so that deliveries are
 * in flight whenever a kill comes (a killed sender never hears the answer and sends again).
 */
export async function startTallyReceiver(): Promise<{ receiver: Receiver; tally: DeliveryTally }> {
  const receiver = await startReceiver();
  const tally = new DeliveryTally();
  receiver.respond(async (r, res) => {
    try {
      tally.record(hook(r));
    } catch {
      tally.unreadable += 1;
    }
    // The tally has what it needs: drop the bodies, a long run receives tens of thousands.
    receiver.requests.length = 0;
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 9)));
    answer(res, 200);
  });
  return { receiver, tally };
}
