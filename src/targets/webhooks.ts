import { redactHeaders } from '../delivery/redact.ts';
import { fieldError } from '../errors.ts';
import { newId } from '../ids.ts';
import { REPORT_VARS, type WebhookDoc } from '../formats/push-report.ts';
import { checkTemplate } from '../formats/template.ts';
import { checkUrlTemplate } from './callback-profiles.ts';
import { checkHeaders } from './endpoints.ts';
import { RESOURCE_KINDS } from './model.ts';
import type { ResourceSpec } from './resources.ts';

export interface WebhookInput {
  url: string;
  method?: 'GET' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: string | null;
  body_format?: 'json' | 'form';
}

/** Seed 001 webhooks: the id is the `webhook_id` a call names; the report goes out once, at the end. */
export function webhookSpec(allowPrivate: boolean): ResourceSpec<WebhookDoc, WebhookInput> {
  return {
    kind: RESOURCE_KINDS.webhook,
    noun: 'webhook',
    newId: (now) => newId('wh', now),
    build(input) {
      const method = input.method ?? 'POST';
      checkUrlTemplate(input.url, REPORT_VARS, allowPrivate, 'url');
      if (input.headers) checkHeaders(input.headers);
      const body_format = input.body_format ?? 'json';
      const body = input.body ?? null;
      if (body !== null) {
        if (method === 'GET') throw fieldError('invalid_field', 'body', 'body: a GET webhook sends no body; use the URL template');
        checkTemplate(body, body_format, REPORT_VARS, 'body');
      }
      return { url: input.url, method, headers: input.headers ?? {}, body, body_format };
    },
    toInput: (doc) => ({ ...doc }),
    view: (r, doc) => ({
      id: r.id,
      object: 'webhook',
      url: doc.url,
      method: doc.method,
      headers: redactHeaders(doc.headers),
      body: doc.body,
      body_format: doc.body_format,
      enabled: r.enabled,
      disabled_reason: r.disabled_reason,
      created_at: new Date(r.created_at).toISOString(),
      updated_at: new Date(r.updated_at).toISOString(),
    }),
  };
}
