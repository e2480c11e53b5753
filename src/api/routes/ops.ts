import { Type } from 'typebox';
import { Answer } from '../responses.ts';
import type { Api, ApiDeps } from '../server.ts';

const Health = Answer({ status: Type.String() });
const Readiness = Answer({ status: Type.String(), backend: Type.Optional(Type.String()), reason: Type.Optional(Type.String()) });

export function opsRoutes(app: Api, deps: ApiDeps): void {
  const hide = { hide: true } as const;
  app.get('/healthz', { schema: { ...hide, response: { 200: Health } } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { ...hide, response: { 200: Readiness, 503: Readiness } } }, async (_req, reply) => {
    try {
      await deps.store.ping();
    } catch {
      return reply.status(503).send({ status: 'unavailable', reason: 'storage does not answer' });
    }
    if (!deps.isReady()) return reply.status(503).send({ status: 'unavailable', reason: 'starting or stopping' });
    return { status: 'ready', backend: deps.store.backend };
  });
  app.get('/metrics', { schema: { ...hide, response: { 200: Type.String({ description: 'Prometheus text' }) } } }, async (_req, reply) => {
    reply.type(deps.metrics.contentType);
    const own = await deps.metrics.metrics();
    return deps.moreMetrics ? `${own}\n${await deps.moreMetrics()}` : own;
  });
  app.get('/openapi.json', { schema: { ...hide, response: { 200: Answer({ openapi: Type.String() }) } } }, async () => app.swagger());
}
