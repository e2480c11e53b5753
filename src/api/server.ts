import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CallService } from '../calls/service.ts';
import type { Clock } from '../clock.ts';
import { HooklineError, toProblem } from '../errors.ts';
import type { Store } from '../store/contract.ts';
import { authenticator } from './auth.ts';
import { accountRoutes } from './routes/accounts.ts';
import { callEventRoutes } from './routes/call-events.ts';
import { callRoutes } from './routes/calls.ts';
import { opsRoutes } from './routes/ops.ts';
import { consoleRoutes } from './routes/console.ts';
import { StreamTokens, streamRoutes } from './routes/stream.ts';
import type { EventBus } from '../events.ts';
import { textRule } from './input-rules.ts';
import { installValidators, validationProblem } from './validation.ts';
import { ProblemAnswer, openApiRequired } from './responses.ts';

export interface ApiDeps {
  store: Store;
  clock: Clock;
  calls: CallService;
  log: Logger;
  metrics: Registry;
  isReady: () => boolean;
  /** more route plugins (delivery log, targets, formats), registered under the same auth */
  plugins?: ((app: Api, deps: ApiDeps) => void)[];
  /** false for --role worker */
  serveApi?: boolean;
  /** metrics kept elsewhere (split mode's delivery thread), appended to /metrics */
  moreMetrics?: (() => Promise<string>) | undefined;
  /** the live feed of GET /v1/stream (events.ts) */
  events?: EventBus;
}

export type Api = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/** SPEC §4: request bodies over 1 MiB answer 413. */
export const BODY_LIMIT = 1024 * 1024;

function asProblem(err: FastifyError): HooklineError {
  if (err instanceof HooklineError) return err;
  if (err.validation) return validationProblem(err.validation as never, err.validationContext ?? 'body');
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HooklineError('body_too_large', `the request body is over ${BODY_LIMIT} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HooklineError('unsupported_media_type', 'send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HooklineError('invalid_json', 'the body is empty but Content-Type says JSON');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HooklineError('invalid_json', err.message);
  }
  if (err instanceof SyntaxError && err.statusCode === 400) return new HooklineError('invalid_json', err.message);
  if (err.statusCode === 404) return new HooklineError('route_not_found');
  if (err.statusCode === 405) return new HooklineError('method_not_allowed');
  if (err.statusCode === 413) return new HooklineError('body_too_large');
  if (err.statusCode === 415) return new HooklineError('unsupported_media_type', err.message);
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return new HooklineError('invalid_field', err.message);
  return new HooklineError('internal');
}

export async function buildApi(deps: ApiDeps): Promise<Api> {
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: BODY_LIMIT,
    // One log line per request costs ~10% of throughput on the hot path; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Path ids are validated by their route schemas (up to 128 characters); the router's own
    // limit sits above that so a long id gets a 400 naming the field.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
    // Errors the router raises before any route (a bad %-escape, an over-long path parameter)
    // would otherwise answer Fastify's own JSON, without a problem type or a Hookline code.
    frameworkErrors: (err, req, reply) => {
      const p = err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? new HooklineError('invalid_field', 'a path parameter is too long', { field: 'params' })
        : new HooklineError('invalid_field', `the URL is not valid: ${err.message}`, { field: 'url' });
      void (reply as FastifyReply).code(p.status).type('application/problem+json').send(toProblem(p, req.url));
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as Api;

  installValidators(app as unknown as FastifyInstance);
  // Before every route's own validation, on every route (present and future): no NUL or
  // unpaired surrogate reaches storage, and no body nests deep enough to overflow a serialiser.
  app.addHook('preValidation', textRule);
  // The API speaks JSON only: a text/plain body is a 415, not a string handed to a handler.
  app.removeContentTypeParser('text/plain');
  // On a route that takes no body, or may go without (routes/resources.ts optionalBody), an empty
  // body is no body, whatever its Content-Type says: many HTTP clients send `Content-Type:
  // application/json` on every request, a bodiless POST (a test, a retry, a hangup) or DELETE
  // included, which Fastify refuses (FST_ERR_CTP_EMPTY_JSON_BODY). A route that needs a body
  // still answers an empty one with 400 invalid_json.
  // Fastify's own JSON parser, but for that case (a length of 0, or a chunked body that turns out empty).
  const bodyless = (req: FastifyRequest): boolean => req.routeOptions.schema?.body === undefined || (req.routeOptions.config as { bodyOptional?: boolean }).bodyOptional === true;
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '' && bodyless(req)) return done(null, undefined);
    return json(req, body as string, done);
  });
  // Every route answers errors as problems: say so in each route's responses (and serialise them
  // with that schema), unless the route describes that status itself.
  const paths = new RoutePaths();
  app.addHook('onRoute', (route) => {
    paths.add(route.method, route.url);
    const schema = (route.schema ??= {}) as { response?: Record<string, unknown> };
    schema.response ??= {};
    schema.response['4xx'] ??= ProblemAnswer;
    schema.response['5xx'] ??= ProblemAnswer;
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    // The database not answering is not a fault of the request: 503, to be tried again (/readyz says the same).
    if (deps.store.unreachable?.(err)) {
      req.log.warn({ err, url: req.url }, 'the database does not answer');
      const p = new HooklineError('unavailable', 'the database does not answer; try again');
      return reply.status(503).header('retry-after', '1').type('application/problem+json').send(toProblem(p, req.url));
    }
    const problem = asProblem(err);
    if (problem.status >= 500) req.log.error({ err, url: req.url }, 'request failed');
    return reply.status(problem.status).type('application/problem+json').send(toProblem(problem, req.url));
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    // A worker serves the operations routes only: say why /v1 is not here, not just that it is not.
    const why = deps.serveApi === false && (path.startsWith('/v1/') || path.startsWith('/console')) ? ' (this process runs --role worker: the API is served by the --role api or all processes)' : '';
    // A path that exists under other methods is a 405 naming them (RFC 9110 §15.5.6), not a 404.
    const allow = paths.methodsOf(path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path); // ignoreTrailingSlash, as the router
    if (allow.length > 0) {
      const p = new HooklineError('method_not_allowed', `${path} takes ${allow.join(', ')}, not ${req.method}`);
      return reply.status(405).header('allow', allow.join(', ')).type('application/problem+json').send(toProblem(p, req.url));
    }
    const p = new HooklineError('route_not_found', `no route ${req.method} ${path}${why}`);
    return reply.status(404).type('application/problem+json').send(toProblem(p, req.url));
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Hookline API', version: '1', description: 'Phone calls in, webhooks out. See SPEC §4.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: ({ schema, url }) => ({ schema: openApiRequired(schema), url }),
  });

  opsRoutes(app, deps);
  // A worker process (--role worker) serves only the operations routes; the API lives elsewhere.
  if (deps.serveApi === false) return app;
  consoleRoutes(app);
  // Open streams never go idle: they are ended first, or closing would wait for them.
  app.addHook('preClose', (done) => {
    deps.events?.close();
    done();
  });
  const tokens = new StreamTokens();
  await app.register(async (scope) => {
    const v1 = scope as unknown as Api;
    // Answers that carry secrets (a new account's key, an endpoint's secret) must not sit in a
    // cache between the client and us, nor in the browser's: no /v1 answer is cached.
    v1.addHook('onRequest', (_req, reply, done) => {
      reply.header('cache-control', 'no-store');
      done();
    });
    v1.addHook('onRequest', authenticator(deps.store, () => deps.clock.now(), (t) => tokens.verify(t, deps.clock.now())));
    accountRoutes(v1, deps);
    streamRoutes(tokens)(v1, deps);
    callRoutes(v1, deps);
    callEventRoutes(v1, deps);
    for (const plugin of deps.plugins ?? []) plugin(v1, deps);
  });
  return app;
}

/** The routes' paths and methods, for a 405's Allow: Fastify's router answers a known path under another method as not found. */
class RoutePaths {
  readonly #routes: { method: string; re: RegExp }[] = [];

  add(method: string | string[], url: string): void {
    // `:name` is one segment, `*` the rest (Fastify's own syntax); everything else literal.
    const re = new RegExp(`^${url.split(/(:[A-Za-z_]\w*|\*)/).map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))).join('')}$`);
    for (const m of Array.isArray(method) ? method : [method]) this.#routes.push({ method: m, re });
  }

  methodsOf(path: string): string[] {
    return [...new Set(this.#routes.filter((r) => r.re.test(path)).map((r) => r.method))].sort();
  }
}
