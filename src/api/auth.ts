import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HooklineError } from '../errors.ts';
import type { ApiKeyInfo, Store } from '../store/contract.ts';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: ApiKeyInfo;
  }
}

/**
 * Bearer-key authentication. Keys are looked up by their SHA-256 (they are long random tokens,
 * so a slow password hash buys nothing); found keys are cached, as keys are never edited.
 */
export function authenticator(store: Store, streamToken?: (token: string) => ApiKeyInfo | undefined) {
  const cache = new Map<string, ApiKeyInfo>();
  return async function authenticate(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const header = req.headers.authorization;
    // GET /v1/stream also takes ?token= (routes/stream.ts): EventSource cannot send a header.
    const token = header === undefined && streamToken && req.routeOptions.url === '/v1/stream' ? (req.query as { token?: unknown }).token : undefined;
    if (typeof token === 'string') {
      const found = streamToken!(token);
      if (!found) throw new HooklineError('unauthorized', 'the stream token is not valid or has expired; ask POST /v1/stream/tokens for another');
      req.auth = found;
      return;
    }
    const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new HooklineError('unauthorized', 'send Authorization: Bearer <api key>');
    const hash = hashKey(m[1]!);
    let info = cache.get(hash);
    if (!info) {
      info = await store.findApiKey(hash);
      if (!info) throw new HooklineError('unauthorized', 'the API key is not valid');
      if (cache.size > 10_000) cache.clear();
      cache.set(hash, info);
    }
    req.auth = info;
  };
}
