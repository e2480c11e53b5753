/**
 * The console talks only to the public API. The key lives in sessionStorage (gone with the
 * tab), never in a URL; the live stream opens with a short-lived token asked for with the key.
 */
const KEY = 'hookline.apiKey';

export const session = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (key: string): void => sessionStorage.setItem(KEY, key),
  clear: (): void => sessionStorage.removeItem(KEY),
};

export interface Problem {
  status: number;
  code: string;
  detail: string;
  field?: string;
}

export class ApiError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail);
    this.problem = problem;
  }
}

export async function api<T>(method: string, path: string, body?: unknown, key = session.get()): Promise<T> {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const parsed: unknown = text === '' ? undefined : JSON.parse(text);
  if (!res.ok) throw new ApiError(parsed as Problem);
  return parsed as T;
}

export interface CallEvent {
  seq: number;
  type: string;
  leg: string | null;
  occurred_at: string;
}

export interface Call {
  id: string;
  number: number | null;
  kind: string;
  direction: string;
  from: string;
  to: string;
  status: string;
  outcome: string | null;
  created_at: string;
  events: CallEvent[];
}

export interface List<T> {
  data: T[];
  next_cursor: string | null;
}

/**
 * The account's live events (GET /v1/stream). EventSource reconnects with Last-Event-ID by
 * itself; a refused token (expired) gets a new one.
 */
export function live(onEvent: (name: string, data: Record<string, unknown>) => void, callId?: string): () => void {
  let source: EventSource | null = null;
  let closed = false;
  const open = async (): Promise<void> => {
    const { token } = await api<{ token: string }>('POST', '/v1/stream/tokens');
    if (closed) return;
    const q = new URLSearchParams({ token, ...(callId ? { call_id: callId } : {}) });
    source = new EventSource(`/v1/stream?${q}`);
    for (const name of ['call.event', 'delivery.result', 'reset']) {
      source.addEventListener(name, (e) => onEvent(name, JSON.parse((e as MessageEvent<string>).data) as Record<string, unknown>));
    }
    source.onerror = () => {
      if (source?.readyState !== EventSource.CLOSED || closed) return;
      setTimeout(() => void open().catch(() => undefined), 2000);
    };
  };
  void open().catch(() => undefined);
  return () => {
    closed = true;
    source?.close();
  };
}
