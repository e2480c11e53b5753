import { Type, type TSchema } from 'typebox';
import { FORMATS } from '../../targets/model.ts';
import type { Resource } from '../../store/contract.ts';
import type { Resources } from '../../targets/resources.ts';
import type { TestDeliveries } from '../../targets/test-delivery.ts';
import { HooklineError } from '../../errors.ts';
import { formatOfKind } from '../../formats/registry.ts';
import { cursorOf, page } from '../paging.ts';
import { Enum, IdParams, ListQuery, Obj } from '../schemas.ts';
import { bodyChecker } from '../validation.ts';
import type { Api } from '../server.ts';
import { ListOf, NoContent, TestAnswer } from '../responses.ts';

export interface ResourceRouteOptions {
  path: string;
  tags: string[];
  create: TSchema;
  patch: TSchema;
  summary: string;
  /** what a read of one answers (the kind's view) */
  answer: TSchema;
  /** the view a create answers with, when it shows more than later reads (an endpoint's secret) */
  createdView?: (r: Resource) => Record<string, unknown>;
  /** checks of a create or patch body before anything is built (an endpoint's secret) */
  checkBody?: (body: unknown) => void;
  /** the schema of an unsaved configuration to test, when not the create body's */
  test?: TSchema;
}

/** A test's optional body: the format's own event name (default: the format's usual one). */
export const TestBody = Type.Optional(Obj({ event: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'the format’s own event name' })) }));

/** A POST whose body may be absent (a button press sends none) is validated as {}. */
const asEmpty = async (req: { body: unknown }): Promise<void> => {
  req.body ??= {};
};

/**
 * Route options of a POST whose body may be absent: validated as {}, and an empty body sent with
 * `Content-Type: application/json` (as many clients do on every request) is taken as none
 * (server.ts) rather than refused as empty JSON, which routes that need a body still answer.
 */
export const optionalBody = { preValidation: asEmpty, config: { bodyOptional: true } } as const;

/**
 * Every target kind that can be tested, by format: how an unsaved configuration of it is checked
 * (its create schema) and built (`POST /v1/test-deliveries`). Filled by resourceRoutes.
 */
export type TestableKinds = Map<string, { check: (v: unknown) => HooklineError | null; checkBody?: ((body: unknown) => void) | undefined; service: Resources<unknown, unknown> }>;

/**
 * The routes every configuration kind has: create, list (paged in the store), get, patch,
 * delete; and for target kinds `POST …/{id}/test`. One mechanism for every kind.
 */
export function resourceRoutes<Doc, In>(service: Resources<Doc, In>, o: ResourceRouteOptions, tests?: { sender: TestDeliveries; kinds: TestableKinds }) {
  return (app: Api): void => {
    const { tags } = o;
    const noun = service.spec.noun;
    const one = { 200: o.answer };
    app.post(o.path, { schema: { tags, summary: `Create a ${noun}. ${o.summary}`, body: o.create, response: { 201: o.answer } } }, async (req, reply) => {
      o.checkBody?.(req.body);
      const r = await service.create(req.auth.account_id, req.body as In);
      return reply.status(201).send((o.createdView ?? ((x) => service.view(x)))(r));
    });
    app.get(o.path, { schema: { tags, summary: `List ${noun}s`, querystring: ListQuery({}), response: { 200: ListOf(o.answer) } } }, async (req) => {
      const { limit = 20 } = req.query;
      const cursor = cursorOf(req.query.cursor, service.spec.idShape);
      const { rows, next_cursor } = await page(limit, (n) => service.page(req.auth.account_id, n, cursor));
      return { object: 'list', data: rows.map((r) => service.view(r)), next_cursor };
    });
    app.get(`${o.path}/:id`, { schema: { tags, summary: `A ${noun}`, params: IdParams, response: one } }, async (req) =>
      service.view(await service.get(req.auth.account_id, req.params.id)));
    app.patch(`${o.path}/:id`, { schema: { tags, summary: `Change a ${noun}; {"enabled": true} re-enables it`, params: IdParams, body: o.patch, response: one } }, async (req) => {
      o.checkBody?.(req.body);
      return service.view(await service.update(req.auth.account_id, req.params.id, req.body as Partial<In>));
    });
    app.delete(`${o.path}/:id`, { schema: { tags, summary: `Delete a ${noun}`, params: IdParams, response: { 204: NoContent } } }, async (req, reply) => {
      await service.delete(req.auth.account_id, req.params.id);
      return reply.status(204).send();
    });
    const format = formatOfKind(service.spec.kind);
    if (!tests || !format) return;
    tests.kinds.set(format.name, { check: bodyChecker(o.test ?? o.create), checkBody: o.checkBody, service: service as unknown as Resources<unknown, unknown> });
    app.post(`${o.path}/:id/test`, {
      schema: { tags, summary: `Send a sample event to a ${noun}, rendered as live traffic; answers the outcome`, params: IdParams, body: TestBody, response: { 200: TestAnswer } },
      ...optionalBody,
    }, async (req) => {
      const r = await service.get(req.auth.account_id, req.params.id);
      return tests.sender.send(req.auth.account_id, r, req.body?.event);
    });
  };
}

const TestDeliveryBody = Type.Object({
  format: Enum(FORMATS),
  // not `event`: a seed-002 subscription's own body has an `event` (voice.inbound / voice.outbound)
  test_event: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'the format’s own event name to send' })),
}, { additionalProperties: true, description: '{format, test_event?, …the fields that kind’s create (or PUT) body takes}' });

/** `POST /v1/test-deliveries`: what a console form sends before Save, sent as its kind would send it. */
export function testDeliveryRoute(tests: { sender: TestDeliveries; kinds: TestableKinds }) {
  return (app: Api): void => {
    app.post('/v1/test-deliveries', {
      schema: { tags: ['deliveries'], summary: 'Test an unsaved target configuration: {format, …its create fields}', body: TestDeliveryBody, response: { 200: TestAnswer } },
    }, async (req) => {
      const { format, test_event: event, ...config } = req.body as { format: string; test_event?: string } & Record<string, unknown>;
      const kind = tests.kinds.get(format)!;
      const bad = kind.check(config);
      if (bad) throw bad;
      kind.checkBody?.(config);
      const target = await kind.service.preview(req.auth.account_id, config);
      try {
        return await tests.sender.send(req.auth.account_id, target, event);
      } catch (err) {
        // the event a test asks for is this body's `test_event`
        if (err instanceof HooklineError && err.field === 'event') throw new HooklineError(err.code, err.message.replace(/^event:/, 'test_event:'), { field: 'test_event' });
        throw err;
      }
    });
  };
}
