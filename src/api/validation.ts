import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { HooklineError, type FieldError } from '../errors.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * Two validators: bodies are JSON, so a wrong type is an error ("10" is not a number); query
 * strings and path parameters are text, so they are coerced. Unknown fields are refused, never
 * silently dropped (Fastify's default removes them).
 */
const strictAjv = (): Ajv => addFormats(new Ajv({ allErrors: true, coerceTypes: false, removeAdditional: false, useDefaults: false, strict: false }));
let handAjv: Ajv | undefined;

/**
 * A JSON body validator for a route that validates by hand (e.g. each event of a batch on its
 * own): the same rules and the same problem as a route schema. Answers null when `v` is valid.
 */
export function bodyChecker(schema: object): (v: unknown) => HooklineError | null {
  handAjv ??= strictAjv();
  const check = handAjv.compile(schema);
  return (v) => (check(v) ? null : validationProblem(check.errors ?? [], 'body'));
}

export function installValidators(app: FastifyInstance): void {
  const strict = strictAjv();
  const coercing = addFormats(new Ajv({ allErrors: true, coerceTypes: 'array', removeAdditional: false, useDefaults: true, strict: false }));
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strict : coercing;
    return ajv.compile(schema as FastifySchema) as ValidateFunction;
  });
}

function fieldPath(base: string, instancePath: string, child?: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  let out = base === 'body' ? '' : `${base}.`;
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' || out.endsWith('.') ? p : `.${p}`;
  return out === '' || out.endsWith('.') ? (base === 'body' ? 'body' : base) : out;
}

/** Ajv's errors as Hookline's: one code per kind of mistake, and the field named. */
export function validationProblem(errors: ErrorObject[], context: string): HooklineError {
  const base = context === 'querystring' ? 'query' : context;
  const seen = new Set<string>();
  const list: FieldError[] = [];
  for (const e of errors) {
    let fe: FieldError;
    if (e.keyword === 'required') {
      const field = fieldPath(base, e.instancePath, (e.params as { missingProperty: string }).missingProperty);
      fe = { field, code: 'missing_field', message: `${field} is required` };
    } else if (e.keyword === 'additionalProperties') {
      const field = fieldPath(base, e.instancePath, (e.params as { additionalProperty: string }).additionalProperty);
      fe = { field, code: 'unknown_field', message: `${field} is not a known field` };
    } else {
      const field = fieldPath(base, e.instancePath);
      let msg = e.message ?? 'is not valid';
      if (e.keyword === 'enum') msg = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
      fe = { field, code: 'invalid_field', message: `${field} ${msg}` };
    }
    const key = `${fe.code}:${fe.field}`;
    // anyOf branches repeat one mistake several times; say it once
    if (seen.has(key) || e.keyword === 'anyOf') continue;
    seen.add(key);
    list.push(fe);
  }
  if (list.length === 0) list.push({ field: base, code: 'invalid_field', message: `${base} is not valid` });
  const first = list[0]!;
  return new HooklineError(first.code, list.map((f) => f.message).join('; '), { field: first.field, errors: list });
}
