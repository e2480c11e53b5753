import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import digest from 'sip/digest.js';
import { legOf, type Call, type NewEvent, type Outcome } from '../../model.ts';
import { applyEvents } from '../../state.ts';
import type { CallDriver, DriverRecord } from '../driver.ts';
import { localFinal, outcomeOf, sdpOffer } from './mapping.ts';
import { byeOfOrphan, confirmedDialogs, endOnStop, endOrphan, isOurs, strayDialog } from './restore.ts';
import { Closing, type Live } from './live.ts';
import { connected, inDialog, shownLeg, stateOf, type Dialog, type SipState } from './state.ts';
import { SipStack, superviseUdp, targetOf, type Message, type Target } from './stack.ts';

export const SIP = 'sip';

export interface SipSettings {
  /** where calls go: a SIP URI, `;transport=tcp` optional */
  trunk: string;
  listen: { host: string; port: number };
  user: string | undefined;
  password: string | undefined;
  /** the host of the From URI; the listen host when unset */
  fromDomain: string | undefined;
}

/** How a driver tells the call service what happened on the network: applied in one transaction. */
export type Report = (callId: string, decide: (call: Call, now: number) => NewEvent[]) => Promise<unknown>;

const DEFAULT_RING_TIMEOUT_S = 45;
const token = (n: number): string => randomBytes(n).toString('hex');

/**
 * Places calls over SIP as a user agent client (RFC 3261): one INVITE per leg to the trunk,
 * the responses turned into the call's events (README "SIP"). The `sip` package does the
 * transactions and their timers; the dialogs are kept here.
 */
export class SipDriver implements CallDriver {
  readonly name = SIP;
  readonly #s: SipSettings;
  readonly #log: Logger;
  #stack: SipStack | undefined;
  #report: Report | undefined;
  readonly #byCall = new Map<string, Map<string, Live>>();
  readonly #bySipId = new Map<string, Live>();
  /** per call: its reports one after another, so its events keep the network's order */
  readonly #queues = new Map<string, Promise<unknown>>();
  /** the confirmed dialogs of the calls the previous run left live, by SIP Call-ID (restore) */
  readonly #orphans = new Map<string, { call: string; leg: string }>();
  #live: (() => Promise<Call[]>) | undefined;
  #sole = false;
  #restoring: Promise<void> | undefined;
  /** settles once restore() has run: a BYE for a dialog not known yet waits for it */
  readonly #restored = Promise.withResolvers<void>();
  readonly #closing = new Closing();

  constructor(settings: SipSettings, log: Logger) {
    this.#s = settings;
    this.#log = log.child({ driver: SIP });
  }

  /**
   * Binds the user agent; `report` changes a call, `live` lists the SIP calls not ended. `sole`: no
   * other process shares the store (SQLite), so restore ends every live SIP call, from any address.
   */
  start(report: Report, live: () => Promise<Call[]>, sole = false): void {
    this.#report = report;
    this.#live = live;
    this.#sole = sole;
    this.#stack = new SipStack(this.#s.listen, (rq) => this.#onRequest(rq), (err) => this.#log.warn({ err }, 'sip stack error'), (rs) => this.#onStray(rs));
    if (this.#stack.udp) superviseUdp(this.#stack.udp, this.#log);
  }

  /** On start, before the API listens: ends the calls the previous run left live (restore.ts); committed() sends their dialogs' BYEs. */
  restore(): Promise<void> {
    this.#restoring ??= this.#restore().finally(() => this.#restored.resolve());
    return this.#restoring;
  }

  async #restore(): Promise<void> {
    if (!this.#live) return;
    const ua = `${this.#s.listen.host}:${this.#s.listen.port}`;
    const calls = (await this.#live()).filter((c) => this.#sole || isOurs(c, ua));
    for (const c of calls) {
      for (const [sipId, leg] of confirmedDialogs(c)) this.#orphans.set(sipId, { call: c.id, leg });
      this.#queue(c.id, endOrphan);
    }
    await Promise.allSettled(calls.map((c) => this.#queues.get(c.id)));
    if (calls.length > 0) this.#log.warn({ calls: calls.length }, 'sip: ended the calls the previous run left live');
  }

  /**
   * A graceful stop ends the calls this run holds, as a restart would (README "Restart"), rather
   * than leave the far end up until the next start: BYE or CANCEL, and their answers awaited.
   */
  async stop(): Promise<void> {
    this.#restored.resolve();
    for (const callId of this.#byCall.keys()) this.#queue(callId, endOnStop);
    await Promise.allSettled([...this.#queues.values()]);
    await this.#closing.settled();
    await Promise.allSettled([...this.#queues.values()]); // the 487s' last SIP status
    this.#stack?.close();
    this.#stack = undefined;
    await Promise.allSettled([...this.#queues.values()]);
  }

  place(call: Call, input: { kind: string; ring_timeout_s?: number; max_duration_s?: number }): DriverRecord {
    const legs: Record<string, Dialog> = {};
    const shown: Record<string, Record<string, unknown>> = {};
    const names = input.kind === 'click_to_call' ? ['from', 'to'] : ['main'];
    for (const name of names) {
      const number = name === 'from' ? call.from : call.to;
      const d: Dialog = {
        call_id: `${token(12)}@${this.#s.listen.host}`, from_uri: this.#fromUri(name === 'from' ? call.to : call.from), from_tag: token(6),
        to_uri: this.#toUri(number), to_tag: null, cseq: 1, remote_target: null, route_set: [],
      };
      legs[name] = d;
      shown[name] = { sip_call_id: d.call_id, sip_status: null, sip_reason: null };
    }
    const state: SipState = {
      trunk: this.#s.trunk,
      ua: `${this.#s.listen.host}:${this.#s.listen.port}`,
      ring_timeout_ms: (input.ring_timeout_s ?? DEFAULT_RING_TIMEOUT_S) * 1000,
      max_duration_ms: input.max_duration_s === undefined ? null : input.max_duration_s * 1000,
      legs,
    };
    return { driver: SIP, state, legs: shown };
  }

  dueAt(call: Call): number | null {
    const st = stateOf(call);
    if (call.status === 'ended') return null;
    if (call.answered_at === null) return call.created_at + st.ring_timeout_ms;
    // A click-to-call's leg `to` rings once `from` answered: its own ring timeout.
    const to = call.kind === 'click_to_call' ? legOf(call, 'to') : undefined;
    if (call.kind === 'click_to_call' && to?.answered_at == null) return (to?.initiated_at ?? call.answered_at) + st.ring_timeout_ms;
    const answered = to?.answered_at ?? call.answered_at;
    return st.max_duration_ms === null ? null : answered + st.max_duration_ms;
  }

  /** Ring timeout (no-answer, INVITE cancelled) or max duration (Hookline's BYE), if due for the call as re-read (a 200 OK may have raced the claim). */
  due(call: Call, now: number) {
    if ((this.dueAt(call) ?? Infinity) > now) return [];
    const outcome: Outcome = connected(call) ? 'completed' : 'no-answer';
    return applyEvents(call, [{ type: 'call.ended', leg: null, data: { outcome } }], now);
  }

  hangup(call: Call): NewEvent[] {
    return [{ type: 'call.ended', leg: null, data: { outcome: connected(call) ? 'completed' : 'cancelled' } }];
  }

  committed(call: Call, events: readonly { type: string }[]): void {
    if (events.some((e) => e.type === 'call.accepted') && call.status !== 'ended') {
      if (call.kind === 'click_to_call') this.#invite(call.id, stateOf(call), 'from', null);
      else this.#invite(call.id, stateOf(call), 'main', sdpOffer(this.#s.listen.host, 40000, Date.now()));
    }
    if (events.some((e) => e.type === 'call.ended')) {
      const live = [...(this.#byCall.get(call.id)?.values() ?? [])]; // before they end: a BYE forgets its leg
      const held = new Set(live.map((l) => l.leg));
      for (const l of live) this.#end(l);
      // A dialog this run does not hold (confirmed before a restart) is ended from what was stored.
      for (const [leg, d] of Object.entries(stateOf(call).legs)) {
        if (!held.has(leg) && d.to_tag !== null && !d.ended) this.#byeStored(d, stateOf(call).trunk);
      }
    }
  }

  #fromUri(number: string): string {
    return `sip:${encodeURIComponent(number)}@${this.#s.fromDomain ?? this.#s.listen.host}`;
  }

  #toUri(number: string): string {
    const t = targetOf(this.#s.trunk);
    return `sip:${encodeURIComponent(number)}@${t.address}:${t.port}${t.protocol === 'TCP' ? ';transport=tcp' : ''}`;
  }

  #contact(to: Target): string {
    return `sip:hookline@${this.#s.listen.host}:${this.#s.listen.port}${to.protocol === 'TCP' ? ';transport=tcp' : ''}`;
  }

  #queue(callId: string, decide: (call: Call, now: number) => NewEvent[]): void {
    const prev = this.#queues.get(callId) ?? Promise.resolve();
    const next = prev.then(() => this.#report!(callId, decide)).catch((err: unknown) => this.#log.error({ err, call_id: callId }, 'sip: a call change failed'));
    this.#queues.set(callId, next);
    void next.finally(() => {
      if (this.#queues.get(callId) === next) this.#queues.delete(callId);
    });
  }

  /** INVITE `leg`: with an SDP offer, or none (click-to-call leg `from`, whose 2xx makes the offer). */
  #invite(callId: string, plan: SipState, leg: string, sdp: string | null): void {
    const dialog = plan.legs[leg];
    if (!dialog || !this.#stack) return;
    const to = targetOf(this.#s.trunk);
    const invite: Message = {
      method: 'INVITE', uri: dialog.to_uri,
      headers: {
        to: { uri: dialog.to_uri, params: {} }, from: { uri: dialog.from_uri, params: { tag: dialog.from_tag } }, 'call-id': dialog.call_id,
        cseq: { method: 'INVITE', seq: dialog.cseq }, contact: [{ uri: this.#contact(to), params: {} }], 'max-forwards': 70,
        'user-agent': 'Hookline',
      },
    };
    if (sdp !== null) {
      invite.headers['content-type'] = 'application/sdp';
      invite.content = sdp;
    }
    const live: Live = {
      call: callId, leg, dialog, invite, to, provisional: false, answered: false, ended: false, done: false, cancelled: false, authTried: false, settle: undefined,
      holdAck: sdp === null, ackBody: undefined, plan,
    };
    let legs = this.#byCall.get(callId);
    if (!legs) this.#byCall.set(callId, (legs = new Map()));
    legs.set(leg, live);
    this.#bySipId.set(dialog.call_id, live);
    this.#queue(callId, (c) => (c.status === 'ended' || legOf(c, leg) ? [] : [{ type: 'leg.initiated', leg, data: {} }]));
    this.#sendInvite(live);
  }

  #sendInvite(live: Live): void {
    this.#stack?.request(live.invite, live.to, (rs, fromNetwork) => this.#onInviteResponse(live, rs, fromNetwork));
  }

  #onInviteResponse(live: Live, rs: Message, fromNetwork: boolean): void {
    const status = rs.status ?? 0;
    if (status >= 200) live.settle?.();
    const reason = rs.reason ?? '';
    if (status < 200) {
      // Any provisional answer, 100 Trying too, lets a CANCEL go (RFC 3261 §9.1).
      live.provisional = true;
      if (live.ended) return this.#cancel(live);
      if (status === 100) return;
      this.#queue(live.call, (c) => {
        shownLeg(c, live.leg, status, reason);
        const leg = legOf(c, live.leg);
        if (c.status === 'ended' || (leg && leg.status !== 'initiated' && leg.status !== 'pending')) return [];
        return status === 180 || status === 183 ? [{ type: 'leg.ringing', leg: live.leg, data: {} }] : [];
      });
      return;
    }
    if (status < 300) return this.#onAnswer(live, rs, status, reason);
    if ((status === 401 || status === 407) && fromNetwork && !live.authTried && this.#s.user !== undefined && !live.ended) {
      // The challenge's INVITE is acknowledged by its transaction; the same one again, signed.
      live.authTried = true;
      live.dialog.cseq += 1;
      const invite = { ...live.invite, headers: { ...live.invite.headers, cseq: { method: 'INVITE', seq: live.dialog.cseq } } };
      delete invite.headers.via;
      digest.signRequest({}, invite, rs, { user: this.#s.user, password: this.#s.password ?? '' });
      live.invite = invite;
      this.#sendInvite(live);
      return;
    }
    this.#forget(live);
    const local = localFinal(status);
    const shown = (c: Call): void => shownLeg(c, live.leg, fromNetwork ? status : local.status, fromNetwork ? reason : local.reason);
    if (live.ended) return this.#queue(live.call, (c) => (shown(c), [])); // ended here (a CANCEL): its 487 is still its last status
    live.done = true;
    const outcome = fromNetwork ? outcomeOf(status) : 'failed';
    const message = fromNetwork ? `leg ${live.leg}: SIP ${status} ${reason}`.trim() : `leg ${live.leg}: ${this.#s.trunk}: ${local.why}`;
    this.#queue(live.call, (c) => {
      shown(c);
      if (c.status === 'ended') return [];
      const events: NewEvent[] = [];
      if (outcome === 'failed') events.push({ type: 'call.error', leg: live.leg, data: { message } });
      events.push({ type: 'call.ended', leg: live.leg, data: { outcome } });
      return events;
    });
  }

  #onAnswer(live: Live, rs: Message, status: number, reason: string): void {
    const d = live.dialog;
    d.to_tag = rs.headers.to?.params.tag ?? null;
    const contact = rs.headers.contact;
    if (Array.isArray(contact) && contact[0]) d.remote_target = contact[0].uri;
    d.remote_target ??= d.to_uri;
    d.route_set = (rs.headers['record-route'] ?? []).map((r) => r.uri).reverse();
    // Every 2xx (a retransmission too) is acknowledged: the far end repeats it until it is. A
    // click-to-call's leg `from` waits for leg `to`'s answer: its SDP goes in this ACK.
    if (!live.holdAck || live.ackBody !== undefined) this.#ack(live);
    if (live.answered) return;
    live.answered = true;
    if (live.ended) return this.#end(live, true);
    const dialog = { ...d, route_set: [...d.route_set] };
    this.#queue(live.call, (c) => {
      shownLeg(c, live.leg, status, reason);
      if (c.status === 'ended') return [];
      // Confirmed: stored with the call, so a later run can send its BYE (README "restart").
      stateOf(c).legs[live.leg] = dialog;
      return [{ type: 'leg.answered', leg: live.leg, data: {} }];
    });
    if (live.holdAck) {
      // RFC 3725 flow I: leg `from`'s offer goes to leg `to`; `to`'s answer comes back in the ACK.
      this.#invite(live.call, live.plan, 'to', rs.content ?? '');
    } else if (live.leg === 'to') {
      const from = this.#byCall.get(live.call)?.get('from');
      if (from && from.holdAck && from.ackBody === undefined) {
        from.ackBody = rs.content ?? '';
        this.#ack(from);
      }
    }
  }

  #ack(live: Live): void {
    const d = live.dialog;
    const ack = inDialog(d, 'ACK', live.invite.headers.cseq!.seq);
    if (live.ackBody) {
      ack.headers['content-type'] = 'application/sdp';
      ack.content = live.ackBody;
    }
    this.#stack?.ack(ack, live.to);
  }

  /** Hookline ends the call: an answered leg gets a BYE, a ringing one a CANCEL (later, once it rang). */
  #end(live: Live, again = false): void {
    if ((live.ended && !again) || live.done) return;
    live.ended = true;
    if (live.answered) {
      // A 2xx still waiting for its ACK (click-to-call leg `from`, leg `to` never answered) gets one first.
      if (live.holdAck && live.ackBody === undefined) {
        live.ackBody = '';
        this.#ack(live);
      }
      this.#bye(live);
    } else if (live.provisional) this.#cancel(live);
  }

  #cancel(live: Live): void {
    if (live.cancelled) return;
    live.cancelled = true;
    live.settle = this.#closing.track();
    const inv = live.invite;
    this.#stack?.request({
      method: 'CANCEL', uri: inv.uri,
      headers: { via: [inv.headers.via![0]!], to: inv.headers.to, from: inv.headers.from, 'call-id': inv.headers['call-id'], cseq: { method: 'CANCEL', seq: inv.headers.cseq!.seq }, 'max-forwards': 70 },
    }, live.to, () => {});
  }

  #bye(live: Live): void {
    live.dialog.cseq += 1;
    this.#sendBye(inDialog(live.dialog, 'BYE', live.dialog.cseq), live.to);
    this.#forget(live);
  }

  #byeStored(d: Dialog, trunk = this.#s.trunk /* where the call was placed: a restart may name another */): void {
    this.#sendBye(inDialog(d, 'BYE', d.cseq + 1), targetOf(trunk));
  }

  #sendBye(bye: Message, to: Target): void {
    const settle = this.#closing.track();
    this.#stack?.request(bye, to, (rs) => (rs.status ?? 0) >= 200 && settle());
  }

  /**
   * A 2xx to an INVITE this run did not send (the previous run's, whose call restore ended): the
   * far end repeats it until it is ACKed, so it is ACKed, and the dialog ended with a BYE.
   */
  #onStray(rs: Message): void {
    const d = strayDialog(rs);
    if (!d || this.#bySipId.has(d.call_id)) return;
    this.#stack?.ack(inDialog(d, 'ACK', d.cseq), targetOf(this.#s.trunk));
    this.#byeStored(d);
  }

  #forget(live: Live): void {
    this.#bySipId.delete(live.dialog.call_id);
    const legs = this.#byCall.get(live.call);
    legs?.delete(live.leg);
    if (legs?.size === 0) this.#byCall.delete(live.call);
  }

  #onRequest(rq: Message, restored = false): void {
    const sipId = rq.headers['call-id'] ?? '';
    const live = this.#bySipId.get(sipId);
    switch (rq.method) {
      case 'ACK':
        return;
      case 'BYE': {
        const orphan = live ? undefined : this.#orphans.get(sipId);
        if (orphan) {
          // A dialog of the previous run (restore): answered even if its call ended already (our BYEs crossed).
          this.#stack?.respond(rq, 200, 'OK');
          return this.#queue(orphan.call, (c) => byeOfOrphan(c, orphan.leg));
        }
        // Not known yet: restore may still be reading the previous run's calls.
        if (!live && !restored) return void this.#restored.promise.then(() => this.#onRequest(rq, true));
        if (!live || !live.answered) return this.#stack?.respond(rq, 481, 'Call/Transaction Does Not Exist');
        this.#stack?.respond(rq, 200, 'OK');
        live.done = true;
        this.#forget(live);
        this.#queue(live.call, (c) => {
          const d = stateOf(c).legs[live.leg];
          if (d) d.ended = true;
          return c.status === 'ended' ? [] : [{ type: 'call.ended', leg: live.leg, data: { outcome: 'completed' } }];
        });
        return;
      }
      case 'OPTIONS':
        return this.#stack?.respond(rq, 200, 'OK');
      default:
        return this.#stack?.respond(rq, 501, 'Not Implemented');
    }
  }
}
