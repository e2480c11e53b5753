/**
 * bench --sip: what the kernel did with Hookline's SIP UDP socket during the measured phase. A
 * datagram dropped for want of receive buffer is an event lost for good when it was a 180/183
 * (never sent again over UDP). The socket's own drops and queue come from /proc/net/udp;
 * `RcvbufErrors` (/proc/net/snmp) counts every UDP socket of the machine, SIPp's and other
 * processes' too.
 */
import { readFileSync } from 'node:fs';
import { procUdp } from '../src/calls/drivers/sip/udp.ts';

/** Udp: RcvbufErrors of /proc/net/snmp (the whole machine); null off Linux */
export function rcvbufErrors(): number | null {
  try {
    const [names, values] = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:')).map((l) => l.split(/\s+/));
    const i = names?.indexOf('RcvbufErrors') ?? -1;
    return i < 0 ? null : Number(values?.[i]);
  } catch {
    return null;
  }
}

export interface SocketWatch {
  /** stops sampling; the socket's drops in the phase, its receive queue at its fullest (bytes, sampled every 50 ms) and RcvbufErrors' rise */
  stop(): { drops: number | null; peak_rx_queue_bytes: number | null; rcvbuf_errors: number | null };
}

export function watchSipSocket(address: string, port: number): SocketWatch {
  const first = procUdp(address, port);
  const errors0 = rcvbufErrors();
  let peak = first?.rxQueue ?? null;
  const timer = setInterval(() => {
    const now = procUdp(address, port);
    if (now) peak = Math.max(peak ?? 0, now.rxQueue);
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      const last = procUdp(address, port);
      const errors1 = rcvbufErrors();
      return {
        drops: first && last ? last.drops - first.drops : null,
        peak_rx_queue_bytes: peak,
        rcvbuf_errors: errors0 !== null && errors1 !== null ? errors1 - errors0 : null,
      };
    },
  };
}
