/**
 * An HTTP/1.x answer's head (status line and headers, without the blank line), as the delivery
 * client reads it (http1.ts): the status, the headers (names lower-cased, repeats joined by
 * ", ", as the log keeps them), whether the connection may be used again, the server's
 * keep-alive hint, and how the body is framed. A pure function, so every case is testable alone.
 */
export type AnswerHead =
  /** 1xx (100 Continue, 103 Early Hints): an interim answer, the real one follows */
  | { kind: 'interim' }
  | { kind: 'bad'; error: string }
  | {
    kind: 'final';
    status: number;
    headers: Record<string, string>;
    /** the connection may carry another request after this answer */
    keep: boolean;
    /** the server's `Keep-Alive: timeout=N`, in ms, if it gave one */
    hintMs: number | null;
    /** no body, chunked, until the connection closes, or this many bytes */
    framing: 'none' | 'chunked' | 'close' | number;
  };

export function parseAnswerHead(text: string): AnswerHead {
  // "HTTP/1.1 200 OK"
  const status = text.charCodeAt(8) === 32 ? Number(text.slice(9, 12)) : NaN;
  if (!text.startsWith('HTTP/1.') || !(status >= 100 && status <= 999)) {
    return { kind: 'bad', error: `the answer is not HTTP/1.x: ${JSON.stringify(text.slice(0, 40))}` };
  }
  if (status < 200) return status === 101 ? { kind: 'bad', error: 'the target switched protocols' } : { kind: 'interim' };
  const headers: Record<string, string> = {};
  let from = text.indexOf('\r\n');
  while (from >= 0) {
    const start = from + 2;
    const next = text.indexOf('\r\n', start);
    const end = next < 0 ? text.length : next;
    from = next;
    const colon = text.indexOf(':', start);
    if (colon <= start || colon >= end) continue;
    const k = nameAt(text, start, colon);
    let a = colon + 1;
    let b = end;
    while (a < b && isBlank(text.charCodeAt(a))) a++;
    while (b > a && isBlank(text.charCodeAt(b - 1))) b--;
    const v = text.slice(a, b);
    const had = headers[k];
    headers[k] = had === undefined ? v : `${had}, ${v}`;
  }
  const http10 = text.charCodeAt(7) === 48;
  const connection = headers.connection?.toLowerCase() ?? '';
  let keep = http10 ? connection.includes('keep-alive') : !connection.includes('close');
  const m = headers['keep-alive'] === undefined ? null : /timeout=(\d+)/i.exec(headers['keep-alive']);
  const hintMs = m ? Number(m[1]) * 1000 : null;
  let framing: 'none' | 'chunked' | 'close' | number;
  if (status === 204 || status === 304) framing = 'none';
  else if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) framing = 'chunked';
  else if (headers['content-length'] !== undefined) {
    framing = Number(headers['content-length']);
    if (!Number.isSafeInteger(framing) || framing < 0) return { kind: 'bad', error: 'the answer\'s content-length is not a number' };
  } else {
    framing = 'close';
    keep = false;
  }
  return { kind: 'final', status, headers, keep, hintMs, framing };
}

// The names most answers carry, as constants: a name found here costs no string of its own (a
// slice, a trimmed copy, a lower-cased copy), nor a lookup of it in V8's string table when it
// becomes a key. Every answer's head is parsed on the delivery thread, whose allocations its
// scavenges pay for on the drain's critical path.
const KNOWN = ['content-type', 'content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding', 'server', 'cache-control', 'vary', 'etag', 'x-powered-by'];

const isBlank = (c: number): boolean => c === 32 || c === 9;

/** The header name of text[start, colon), lower-cased, outer blanks trimmed. */
function nameAt(text: string, start: number, colon: number): string {
  const n = colon - start;
  for (const k of KNOWN) {
    if (k.length !== n) continue;
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(start + i);
      const want = k.charCodeAt(i);
      // the name's letters in either case (k is lower-case letters and '-')
      if (c !== want && !(want >= 97 && c === want - 32)) break;
    }
    if (i === n) return k;
  }
  return text.slice(start, colon).trim().toLowerCase();
}
