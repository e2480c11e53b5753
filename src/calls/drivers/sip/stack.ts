import sip, { type Message, type Target, type TransactionLayer, type Transport } from 'sip';
import { UdpReceiver, withUdpSockets } from './udp.ts';

export type { Message, Target } from 'sip';
export { superviseUdp } from './udp.ts';

/** A SIP URI's next hop: where a request to it goes (an IP literal: Hookline resolves no names). */
export function targetOf(uri: string): Target {
  const u = sip.parseUri(uri);
  const protocol = (u.params.transport ?? 'udp').toUpperCase();
  return { protocol, address: u.host, port: u.port ?? 5060 };
}

/**
 * Hookline's SIP user agent core over the `sip` package's transports (UDP and TCP on one port)
 * and transactions (RFC 3261 §17, with its timers). Its own `create()` is not used: it takes
 * every URI naming our own host for a flow token, and on 127.0.0.1 the trunk shares our host.
 */
export class SipStack {
  readonly #transport: Transport;
  readonly #transactions: TransactionLayer;
  /** the UDP socket, its receive buffer raised (udp.ts) */
  readonly udp: UdpReceiver | undefined;

  /** `onStray` gets a response no transaction of this run sent the request of (one to the run before a restart). */
  constructor(listen: { host: string; port: number }, onRequest: (rq: Message, remote: Target) => void, onError: (err: unknown) => void, onStray: (rs: Message) => void) {
    const options = { address: listen.host, port: listen.port, udp: true, tcp: true, logger: { error: onError } };
    const made = withUdpSockets(() => sip.makeTransport(options, (m, remote) => {
      try {
        if (m.method === undefined) {
          const client = this.#transactions.getClient(m);
          if (client) client.message(m, remote);
          else onStray(m);
          return;
        }
        const t = this.#transactions.getServer(m);
        if (t) {
          t.message?.(m, remote);
          return;
        }
        // A new request (an ACK has no transaction of its own): the core answers it.
        if (m.method !== 'ACK') this.#transactions.createServerTransaction(m, this.#transport.get(remote));
        onRequest(m, remote);
      } catch (err) {
        onError(err);
      }
    }));
    this.#transport = made.value;
    this.udp = made.sockets[0] && new UdpReceiver(made.sockets[0]);
    this.#transactions = sip.makeTransactionLayer(options, this.#transport.open.bind(this.#transport));
  }

  /**
   * Sends a request in a client transaction; `onResponse` gets every response, the ones the
   * transaction makes itself too (timer B's 408, a transport's 503): `fromNetwork` is false for
   * those, told by the To tag every final response from the far end has. A CANCEL keeps the Via
   * of its INVITE (the same branch); others get a new one.
   */
  request(rq: Message, to: Target, onResponse: (rs: Message, fromNetwork: boolean) => void): void {
    if (rq.method !== 'CANCEL') rq.headers.via = [{ params: {} }];
    let flow;
    try {
      flow = this.#transport.open(to, () => client.message(sip.makeResponse(rq, 503, 'Transport Error')));
    } catch {
      onResponse(sip.makeResponse(rq, 503, 'Transport Error'), false);
      return;
    }
    const client = this.#transactions.createClientTransaction(flow, rq, (rs) => onResponse(rs, rs.headers.to?.params.tag != null));
  }

  /** An ACK to a 2xx: a transaction of its own, sent once (RFC 3261 §13.2.2.4). */
  ack(rq: Message, to: Target): void {
    rq.headers.via = [{ params: { branch: sip.generateBranch() } }];
    const flow = this.#transport.open(to);
    try {
      flow.send(rq);
    } finally {
      flow.release();
    }
  }

  /** Answers a request received in `onRequest`. */
  respond(rq: Message, status: number, reason: string): void {
    const rs = sip.makeResponse(rq, status, reason);
    this.#transactions.getServer(rs)?.send(rs);
  }

  close(): void {
    this.udp?.close();
    this.#transactions.destroy();
    this.#transport.destroy();
  }
}
