/**
 * A server-sent events reader over node:http (what a browser's EventSource does, by hand, so a
 * test can pause it, read its ids and reconnect with Last-Event-ID).
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { waitFor } from './helpers.ts';

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: any;
}

export interface SseReader {
  status: number;
  events: SseEvent[];
  res: IncomingMessage;
  /** true once the server ended or dropped the stream */
  closed: boolean;
  /** waits until `pred` holds for the events read so far; answers them */
  until(pred: (events: SseEvent[]) => boolean, timeoutMs?: number, what?: string): Promise<SseEvent[]>;
  close(): void;
}

/** Opens `path` (e.g. /v1/stream) with an API key or none (`key: null`, for ?token=). */
export function openStream(base: string, path: string, opts: { key?: string | null; lastEventId?: string } = {}): Promise<SseReader> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.lastEventId !== undefined) headers['last-event-id'] = opts.lastEventId;
  return new Promise((resolve, reject) => {
    const req: ClientRequest = httpRequest(base + path, { headers }, (res) => {
      const reader: SseReader = {
        status: res.statusCode ?? 0,
        events: [],
        res,
        closed: false,
        until: (pred, timeoutMs = 10_000, what = 'stream events') => waitFor(() => (pred(reader.events) ? reader.events : null), timeoutMs, what),
        close: () => req.destroy(),
      };
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const fields = new Map<string, string>();
          for (const line of frame.split('\n')) {
            if (line.startsWith(':')) continue;
            const c = line.indexOf(':');
            if (c > 0) fields.set(line.slice(0, c), line.slice(c + 1).replace(/^ /, ''));
          }
          const data = fields.get('data');
          if (data === undefined) continue;
          let parsed: unknown = data;
          try {
            parsed = JSON.parse(data);
          } catch {
            // not JSON (a problem body read as a stream): keep the text
          }
          reader.events.push({ id: fields.get('id'), event: fields.get('event') ?? 'message', data: parsed });
        }
      });
      res.on('close', () => (reader.closed = true));
      res.on('error', () => (reader.closed = true));
      resolve(reader);
    });
    req.on('error', reject);
    req.end();
  });
}
