import type { Api, ApiDeps } from '../server.ts';

export function opsRoutes(app: Api, deps: ApiDeps): void {
  const hide = { hide: true } as const;
  app.get('/healthz', { schema: { ...hide } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { ...hide } }, async (_req, reply) => {
    try {
      await deps.store.ping();
    } catch {
      return reply.status(503).send({ status: 'unavailable', reason: 'storage does not answer' });
    }
    if (!deps.isReady()) return reply.status(503).send({ status: 'unavailable', reason: 'starting or stopping' });
    return { status: 'ready', backend: deps.store.backend };
  });
  app.get('/metrics', { schema: { ...hide } }, async (_req, reply) => {
    reply.type(deps.metrics.contentType);
    const own = await deps.metrics.metrics();
    return deps.moreMetrics ? `${own}\n${await deps.moreMetrics()}` : own;
  });
  app.get('/openapi.json', { schema: { ...hide } }, async () => app.swagger());
}
