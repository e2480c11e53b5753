import type { TSchema } from 'typebox';
import type { Resources } from '../../targets/resources.ts';
import { cursorOf, page } from '../paging.ts';
import { IdParams, ListQuery } from '../schemas.ts';
import type { Api } from '../server.ts';

export interface ResourceRouteOptions {
  path: string;
  tags: string[];
  create: TSchema;
  patch: TSchema;
  /** the name of the id in path and views; seed 003 properties use `sid` */
  summary: string;
}

/** The five routes every configuration resource has: create, list, get, patch, delete. */
export function resourceRoutes<Doc, In>(service: Resources<Doc, In>, o: ResourceRouteOptions) {
  return (app: Api): void => {
    const { tags } = o;
    const noun = service.spec.noun;
    app.post(o.path, { schema: { tags, summary: `Create a ${noun}. ${o.summary}`, body: o.create } }, async (req, reply) => {
      const r = await service.create(req.auth.account_id, req.body as In);
      return reply.status(201).send(service.view(r));
    });
    app.get(o.path, { schema: { tags, summary: `List ${noun}s`, querystring: ListQuery({}) } }, async (req) => {
      const { limit = 20 } = req.query;
      const cursor = cursorOf(req.query.cursor, service.spec.idShape);
      const all = (await service.list(req.auth.account_id)).sort((a, b) => (a.id < b.id ? 1 : -1));
      const { rows, next_cursor } = await page(limit, async (n) => all.filter((r) => cursor === null || r.id < cursor).slice(0, n));
      return { object: 'list', data: rows.map((r) => service.view(r)), next_cursor };
    });
    app.get(`${o.path}/:id`, { schema: { tags, summary: `A ${noun}`, params: IdParams } }, async (req) =>
      service.view(await service.get(req.auth.account_id, req.params.id)));
    app.patch(`${o.path}/:id`, { schema: { tags, summary: `Change a ${noun}`, params: IdParams, body: o.patch } }, async (req) =>
      service.view(await service.update(req.auth.account_id, req.params.id, req.body as Partial<In>)));
    app.delete(`${o.path}/:id`, { schema: { tags, summary: `Delete a ${noun}`, params: IdParams } }, async (req, reply) => {
      await service.delete(req.auth.account_id, req.params.id);
      return reply.status(204).send();
    });
  };
}
