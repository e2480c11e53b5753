/**
 * The one catalogue of error codes. Every error Hookline answers with has a stable `code` from
 * this table; the HTTP status comes from here, never from the throw site.
 */
export const ERRORS = {
  missing_field: { status: 400, title: 'A required field is missing' },
  unknown_field: { status: 400, title: 'The request has a field Hookline does not know' },
  invalid_field: { status: 400, title: 'A field has the wrong type or value' },
  invalid_json: { status: 400, title: 'The body is not valid JSON' },
  invalid_cursor: { status: 400, title: 'The pagination cursor is not valid' },
  invalid_callback: { status: 400, title: 'The callback parameter is not valid' },
  invalid_template: { status: 400, title: 'The template is not valid' },
  invalid_filter: { status: 400, title: 'The event filter is not valid' },
  target_not_allowed: { status: 400, title: 'The target address is not allowed' },
  unknown_reference: { status: 400, title: 'A referenced resource does not exist' },
  unauthorized: { status: 401, title: 'A valid API key is required' },
  forbidden: { status: 403, title: 'This key may not do that' },
  not_found: { status: 404, title: 'No such resource' },
  route_not_found: { status: 404, title: 'No such route' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  call_already_ended: { status: 409, title: 'The call has already ended' },
  invalid_transition: { status: 409, title: 'The event is impossible in the call’s current state' },
  idempotency_conflict: { status: 409, title: 'The Idempotency-Key was used with a different request' },
  delivery_in_progress: { status: 409, title: 'The delivery is being attempted right now' },
  test_not_retried: { status: 409, title: 'A test delivery is sent once' },
  driver_not_running: { status: 409, title: 'The call’s driver does not run in this process' },
  body_too_large: { status: 413, title: 'The request body is over 1 MiB' },
  unsupported_media_type: { status: 415, title: 'The body must be application/json' },
  internal: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'Hookline is not ready' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface FieldError {
  field: string;
  code: ErrorCode;
  message: string;
}

/** An error that becomes an RFC 9457 problem with a stable `code`. */
export class HooklineError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly field: string | undefined;
  readonly errors: FieldError[] | undefined;
  constructor(code: ErrorCode, message?: string, opts: { field?: string; errors?: FieldError[] } = {}) {
    super(message ?? ERRORS[code].title);
    this.name = 'HooklineError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.field = opts.field;
    this.errors = opts.errors;
  }
}

export function fieldError(code: 'missing_field' | 'unknown_field' | 'invalid_field', field: string, message: string): HooklineError {
  return new HooklineError(code, message, { field, errors: [{ field, code, message }] });
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  field?: string;
  errors?: FieldError[];
  instance?: string;
}

export function toProblem(err: HooklineError, instance?: string): Problem {
  const p: Problem = {
    type: `urn:hookline:problem:${err.code}`,
    title: ERRORS[err.code].title,
    status: err.status,
    detail: err.message,
    code: err.code,
  };
  if (err.field !== undefined) p.field = err.field;
  if (err.errors !== undefined) p.errors = err.errors;
  if (instance !== undefined) p.instance = instance;
  return p;
}
