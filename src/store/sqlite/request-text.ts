import type { SendRequest } from '../contract.ts';

/**
 * The JSON of a request's method, URL and headers, as its row and its offer hold it, made once
 * per headers object: the formats hand every delivery of a target the same headers object
 * (formats/format.ts targetHeaders), never changed once rendered, so a target's thousands of
 * deliveries share one text instead of two JSON.stringify calls each.
 */
const texts = new WeakMap<object, { method: string; url: string; text: string }>();

export function requestText(r: Pick<SendRequest, 'method' | 'url' | 'headers'>): string {
  const hit = texts.get(r.headers);
  if (hit !== undefined && hit.method === r.method && hit.url === r.url) return hit.text;
  const text = JSON.stringify({ method: r.method, url: r.url, headers: r.headers });
  texts.set(r.headers, { method: r.method, url: r.url, text });
  return text;
}
