import type { CreateCallInput } from '../calls/service.ts';
import { fieldError, HooklineError } from '../errors.ts';
import type { Store } from '../store/contract.ts';
import { normalizeCallback } from './callback-param.ts';
import { RESOURCE_KINDS } from './model.ts';

/**
 * Checks what a call names of the account's configuration before the call is placed (seed 000's
 * `callback`, seed 001's `webhook_id`): a bad reference is a 400 and no call exists.
 */
export function callInputChecker(store: Store, allowPrivate: boolean) {
  return async (accountId: string, input: CreateCallInput): Promise<CreateCallInput> => {
    const out = { ...input };
    if (input.callback !== undefined) {
      out.callback = await normalizeCallback(
        input.callback,
        input.kind,
        async (id) => (await store.getResource(accountId, RESOURCE_KINDS.callbackProfile, id)) !== undefined,
        allowPrivate,
      );
    }
    if (input.webhook_id !== undefined) {
      const wh = await store.getResource(accountId, RESOURCE_KINDS.webhook, input.webhook_id);
      if (!wh) {
        const e = fieldError('invalid_field', 'webhook_id', `webhook_id: no webhook "${input.webhook_id}" in this account`);
        throw new HooklineError('unknown_reference', e.message, { field: 'webhook_id', errors: [{ field: 'webhook_id', code: 'unknown_reference', message: e.message }] });
      }
    }
    if (input.tracking !== undefined) {
      const sid = input.tracking.property_sid;
      if (!(await store.getResource(accountId, RESOURCE_KINDS.property, sid))) {
        const message = `tracking.property_sid: no property "${sid}" in this account`;
        throw new HooklineError('unknown_reference', message, { field: 'tracking.property_sid', errors: [{ field: 'tracking.property_sid', code: 'unknown_reference', message }] });
      }
    }
    return out;
  };
}
