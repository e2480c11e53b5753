import { HooklineError } from '../../errors.ts';
import { newId, randomToken } from '../../ids.ts';
import { hashKey } from '../auth.ts';
import { AccountAnswer } from '../responses.ts';
import { AccountBody } from '../schemas.ts';
import type { Api, ApiDeps } from '../server.ts';

export function accountRoutes(app: Api, deps: ApiDeps): void {
  app.post('/v1/accounts', {
    schema: { tags: ['accounts'], summary: 'Create a tenant (bootstrap key only); answers its API key once', body: AccountBody, response: { 201: AccountAnswer } },
  }, async (req, reply) => {
    if (!req.auth.bootstrap) throw new HooklineError('forbidden', 'only the bootstrap key may create accounts');
    const now = deps.clock.now();
    const account = { id: newId('acct', now), name: req.body.name, created_at: now };
    const apiKey = `hk_${randomToken(32)}`;
    await deps.store.createAccount(account, hashKey(apiKey));
    return reply.status(201).send({ id: account.id, object: 'account', name: account.name, api_key: apiKey, created_at: new Date(now).toISOString() });
  });
}
