import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

/**
 * The receive buffer Hookline asks for on its SIP UDP socket. A provisional response (180/183)
 * is sent once over UDP and never again (RFC 3261 §17.2.1), so one the kernel drops for want of
 * room (`RcvbufErrors` in /proc/net/snmp) is a `leg.ringing` lost for good. Linux's default
 * (net.core.rmem_default, 208 KiB) holds only a few hundred small datagrams: the 180s and 200s
 * answering a batch of INVITEs, arriving while the process waits for a CPU or its event loop is
 * busy, overflow it. Linux grants at most net.core.rmem_max and reports twice what it granted
 * (its bookkeeping counts the kernel's overhead per datagram too, and that is what fills).
 */
export const UDP_RECEIVE_BUFFER = 8 * 1024 * 1024;

export interface ReceiveBuffer {
  /** bytes asked for (setRecvBufferSize) */
  asked: number;
  /** what the kernel reports back (getRecvBufferSize): at most twice net.core.rmem_max on Linux */
  got: number;
  /** the size before: the system's default */
  before: number;
  /** net.core.rmem_max, where readable */
  rmemMax: number | null;
}

/**
 * Runs `make` (which makes the `sip` package's transports: its UDP socket is a private
 * `dgram.createSocket` inside) and hands back the UDP sockets made meanwhile. `make` is
 * synchronous, so the substitute is in place for exactly that call and nothing else's socket.
 */
export function withUdpSockets<T>(make: () => T): { value: T; sockets: dgram.Socket[] } {
  const sockets: dgram.Socket[] = [];
  const original = dgram.createSocket;
  dgram.createSocket = function (this: unknown, ...args: Parameters<typeof original>): dgram.Socket {
    const s = (original as (...a: unknown[]) => dgram.Socket).apply(this, args);
    sockets.push(s);
    return s;
  } as typeof original;
  try {
    return { value: make(), sockets };
  } finally {
    dgram.createSocket = original;
  }
}

function readNumber(file: string): number | null {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return null;
  }
}

/** `127.0.0.1:5060` as /proc/net/udp writes it: `0100007F:13C4` (the address's bytes little-endian). */
export function procAddress(address: string, port: number): string {
  const ip = address.split('.').reverse().map((b) => Number(b).toString(16).padStart(2, '0')).join('');
  return `${ip}:${port.toString(16).padStart(4, '0')}`.toUpperCase();
}

/** A bound IPv4 UDP socket's line of /proc/net/udp: its receive queue (bytes) and drops; null when not found. */
export function procUdp(address: string, port: number): { rxQueue: number; drops: number } | null {
  let text: string;
  try {
    text = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return null;
  }
  const local = procAddress(address, port);
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[1] !== local) continue;
    return { rxQueue: parseInt(f[4]?.split(':')[1] ?? '0', 16), drops: Number(f.at(-1)) };
  }
  return null;
}

/** The `sip` package's UDP socket: its receive buffer raised once bound, the datagrams the kernel dropped on it watched. */
export class UdpReceiver {
  /** what the kernel granted, once the socket is bound (null: it closed unbound; its bind error is left to the `sip` package) */
  readonly buffer: Promise<ReceiveBuffer | null>;
  readonly #socket: dgram.Socket;
  #timer: NodeJS.Timeout | undefined;

  constructor(socket: dgram.Socket, bytes = UDP_RECEIVE_BUFFER) {
    this.#socket = socket;
    this.buffer = new Promise((resolve, reject) => {
      const onClose = () => resolve(null);
      socket.once('close', onClose);
      socket.once('listening', () => {
        socket.off('close', onClose);
        try {
          const before = socket.getRecvBufferSize();
          socket.setRecvBufferSize(bytes);
          resolve({ asked: bytes, got: socket.getRecvBufferSize(), before, rmemMax: readNumber('/proc/sys/net/core/rmem_max') });
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
  }

  /** datagrams the kernel dropped on this socket (full buffer), from /proc/net/udp; null where unknown (not Linux, IPv6) */
  drops(): number | null {
    try {
      const a = this.#socket.address();
      return procUdp(a.address, a.port)?.drops ?? null;
    } catch {
      return null;
    }
  }

  /** Every `ms`: `onDrops` when drops rose since the last look. */
  watch(onDrops: (total: number, added: number) => void, ms = 10_000): void {
    let seen: number | null = null;
    this.#timer = setInterval(() => {
      const n = this.drops();
      if (n === null) return;
      if (seen !== null && n > seen) onDrops(n, n - seen);
      seen = n;
    }, ms).unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

type Log = { info(o: object, m: string): void; warn(o: object, m: string): void };

/** Logs the receive buffer granted (a warning when net.core.rmem_max held it below what was asked) and any datagrams dropped later. */
export function superviseUdp(udp: UdpReceiver, log: Log): void {
  udp.buffer.then((b) => {
    if (!b) return;
    const info = { asked: b.asked, got: b.got, before: b.before, rmem_max: b.rmemMax };
    if (b.got >= b.asked) log.info(info, 'sip: UDP receive buffer');
    else log.warn(info, 'sip: UDP receive buffer below what was asked (raise net.core.rmem_max)');
    udp.watch((total, added) => log.warn({ dropped: added, total }, 'sip: UDP datagrams dropped by a full receive buffer (a 180/183 among them is lost for good)'));
  }, (err: unknown) => log.warn({ err }, 'sip: UDP receive buffer not set'));
}
