import { randomUUID } from 'node:crypto';
import { checkTargetUrl } from '../delivery/address-guard.ts';
import { redactHeaders } from '../delivery/redact.ts';
import { fieldError } from '../errors.ts';
import { CALLBACK_VARS, type CallbackProfileDoc } from '../formats/callback.ts';
import { checkTemplate } from '../formats/template.ts';
import { checkHeaders, secretsOf, type Signed } from './endpoints.ts';
import { RESOURCE_KINDS, type SecretEntry } from './model.ts';
import type { ResourceSpec } from './resources.ts';

export interface ProfileInput {
  name: string;
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | null;
  /** a Standard Webhooks secret (whsec_…): adds the webhook-* signature headers; null removes it */
  secret?: string | null;
  /** internal: carried over on update */
  secrets?: SecretEntry[];
}

/** A URL template is checked as the URL it becomes with every variable empty. */
export function checkUrlTemplate(url: string, known: readonly string[], allowPrivate: boolean, field: string): void {
  const t = checkTemplate(url, 'url', known, field);
  const probe = t.segments.map((s) => ('text' in s ? s.text : 'x')).join('');
  checkTargetUrl(probe, allowPrivate, field);
}

/** Seed 000 callback profiles: ids look like `SG_…`. */
export function callbackProfileSpec(allowPrivate: boolean): ResourceSpec<CallbackProfileDoc & Signed, ProfileInput> {
  return {
    kind: RESOURCE_KINDS.callbackProfile,
    noun: 'callback profile',
    newId: () => `SG_${randomUUID()}`,
    idShape: /^SG_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    build(input) {
      const method = input.method ?? 'POST';
      checkUrlTemplate(input.url, CALLBACK_VARS, allowPrivate, 'url');
      if (input.headers) checkHeaders(input.headers);
      const body = input.body ?? null;
      if (body !== null) {
        if (method === 'GET') throw fieldError('invalid_field', 'body', 'body: a GET profile sends no body; use the URL template');
        checkTemplate(body, 'json', CALLBACK_VARS, 'body');
      }
      return { name: input.name, url: input.url, method, headers: input.headers ?? {}, body, secrets: secretsOf(input.secret, input.secrets) };
    },
    toInput: (doc) => ({ ...doc }),
    view: (r, doc) => ({
      id: r.id,
      object: 'callback_profile',
      name: doc.name,
      url: doc.url,
      method: doc.method,
      headers: redactHeaders(doc.headers),
      body: doc.body,
      enabled: r.enabled,
      disabled_reason: r.disabled_reason,
      created_at: new Date(r.created_at).toISOString(),
      updated_at: new Date(r.updated_at).toISOString(),
    }),
  };
}
