import { redactHeaders } from '../delivery/redact.ts';
import { fieldError } from '../errors.ts';
import { newId, newIdShape } from '../ids.ts';
import { REPORT_VARS, type WebhookDoc } from '../formats/push-report.ts';
import { checkTemplate } from '../formats/template.ts';
import { checkUrlTemplate } from './callback-profiles.ts';
import { checkHeaderSyntax, checkHeaders, secretsOf, type Signed } from './endpoints.ts';
import { RESOURCE_KINDS, type SecretEntry } from './model.ts';
import type { ResourceSpec } from './resources.ts';

export interface WebhookInput {
  url: string;
  method?: 'GET' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: string | null;
  body_format?: 'json' | 'form';
  /** a Standard Webhooks secret (whsec_…): adds the webhook-* signature headers; null removes it */
  secret?: string | null;
  /** internal: carried over on update */
  secrets?: SecretEntry[];
}

const CONTENT_TYPES = { json: 'application/json', form: 'application/x-www-form-urlencoded' } as const;

/**
 * Seed 001's compose example sets `content-type: application/json` beside its Authorization
 * header. Hookline sets the content type from `body_format`, so a matching one is accepted and
 * left to Hookline; one that contradicts the body format (or any on a GET) is refused.
 */
function withoutContentType(headers: Record<string, string>, method: string, format: 'json' | 'form'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'content-type') {
      out[name] = value;
      continue;
    }
    const media = value.split(';')[0]!.trim().toLowerCase();
    if (method === 'GET' || media !== CONTENT_TYPES[format]) {
      const why = method === 'GET' ? 'a GET webhook sends no body' : `the body is ${CONTENT_TYPES[format]}; choose it with body_format (json or form)`;
      throw fieldError('invalid_field', `headers.${name}`, `headers: ${name} "${value}" does not fit: ${why}`);
    }
  }
  return out;
}

/** Seed 001 webhooks: the id is the `webhook_id` a call names; the report goes out once, at the end. */
export function webhookSpec(allowPrivate: boolean): ResourceSpec<WebhookDoc & Signed, WebhookInput> {
  return {
    kind: RESOURCE_KINDS.webhook,
    noun: 'webhook',
    newId: (now) => newId('wh', now),
    idShape: newIdShape('wh'),
    build(input) {
      const method = input.method ?? 'POST';
      checkUrlTemplate(input.url, REPORT_VARS, allowPrivate, 'url');
      const body_format = input.body_format ?? 'json';
      // every header given must be sendable, the content-type this drops included
      checkHeaderSyntax(input.headers ?? {});
      const headers = withoutContentType(input.headers ?? {}, method, body_format);
      checkHeaders(headers);
      const body = input.body ?? null;
      if (body !== null) {
        if (method === 'GET') throw fieldError('invalid_field', 'body', 'body: a GET webhook sends no body; use the URL template');
        checkTemplate(body, body_format, REPORT_VARS, 'body');
      }
      return { url: input.url, method, headers, body, body_format, secrets: secretsOf(input.secret, input.secrets) };
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
