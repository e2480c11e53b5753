import { useId, useState, type ReactNode } from 'react';
import { ApiError, api, client, ok, type Answer, type Body } from '../api.ts';
import './settings.css';

/**
 * Shared pieces of the settings forms. Forms do not second-guess the API: what it refuses comes
 * back as an RFC 9457 problem naming the field (`field`, and `errors[]` with one entry per
 * field), and its `detail` (or the entry's message) is shown beside that field, tied to the
 * control by aria-describedby and announced with role=alert. A message naming no field on the
 * form is shown at the form's foot.
 */

export interface FieldProblem {
  field: string;
  code: string;
  message: string;
}

export interface FormProblem {
  detail: string;
  field?: string;
  errors?: FieldProblem[];
}

/** What a caught error says, as a problem (a network failure or a bug names no field). */
export function asProblem(err: unknown): FormProblem {
  if (err instanceof ApiError) {
    const p = err.problem as ApiError['problem'] & { errors?: FieldProblem[] };
    return { detail: p.detail, ...(p.field !== undefined ? { field: p.field } : {}), ...(p.errors ? { errors: p.errors } : {}) };
  }
  return { detail: err instanceof Error ? err.message : String(err) };
}

/** `url` names `url`; `headers` names `headers.X-Api-Key`; `eventFilters` names `eventFilters[0].value`. */
function names(field: string, name: string): boolean {
  return field === name || field.startsWith(`${name}.`) || field.startsWith(`${name}[`);
}

/** A problem split by the fields a form shows: `at(name)` beside each, `rest` at the foot. */
export interface FieldErrors {
  at(name: string): string[];
  rest: string[];
}

export function fieldErrors(problem: FormProblem | null, shown: readonly string[]): FieldErrors {
  if (!problem) return { at: () => [], rest: [] };
  const list: { field: string | undefined; message: string }[] = problem.errors?.length
    ? problem.errors.map((e) => ({ field: e.field, message: e.message }))
    : [{ field: problem.field, message: problem.detail }];
  // a single error says it best in the detail, which may be more specific than errors[0].message
  if (list.length === 1) list[0]!.message = problem.detail;
  const owner = (f: string | undefined): string | undefined => (f === undefined ? undefined : shown.find((n) => names(f, n)));
  return {
    at: (name) => list.filter((e) => owner(e.field) === name).map((e) => e.message),
    rest: list.filter((e) => owner(e.field) === undefined).map((e) => e.message),
  };
}

export function ErrorText({ id, messages }: { id: string; messages: string[] }) {
  if (messages.length === 0) return null;
  return <p id={id} role="alert" className="field-error">{messages.join(' ')}</p>;
}

/** Props every control gets from its field: the id, and the error tied to it. */
function described(id: string, errs: string[]) {
  return errs.length > 0 ? { id, 'aria-invalid': true as const, 'aria-describedby': `${id}-error` } : { id };
}

export function TextField(p: {
  label: string; name: string; value: string; onChange: (v: string) => void; errs: FieldErrors;
  multiline?: boolean; placeholder?: string; hint?: ReactNode; type?: string; mono?: boolean;
}) {
  const id = useId();
  const errs = p.errs.at(p.name);
  const props = { ...described(id, errs), name: p.name, value: p.value, placeholder: p.placeholder, className: p.mono ? 'mono' : undefined };
  return (
    <div className="field">
      <label htmlFor={id}>{p.label}</label>
      {p.multiline
        ? <textarea {...props} rows={8} spellCheck={false} onChange={(e) => p.onChange(e.target.value)} />
        : <input {...props} type={p.type ?? 'text'} autoComplete="off" onChange={(e) => p.onChange(e.target.value)} />}
      {p.hint && <small className="hint">{p.hint}</small>}
      <ErrorText id={`${id}-error`} messages={errs} />
    </div>
  );
}

export function SelectField<T extends string>(p: { label: string; name: string; value: T; options: readonly T[]; onChange: (v: T) => void; errs: FieldErrors; labels?: Partial<Record<T, string>> }) {
  const id = useId();
  const errs = p.errs.at(p.name);
  return (
    <div className="field">
      <label htmlFor={id}>{p.label}</label>
      <select {...described(id, errs)} name={p.name} value={p.value} onChange={(e) => p.onChange(e.target.value as T)}>
        {p.options.map((o) => <option key={o} value={o}>{p.labels?.[o] ?? o}</option>)}
      </select>
      <ErrorText id={`${id}-error`} messages={errs} />
    </div>
  );
}

/** One checkbox per value, each named by the value itself (seed 004's `call_ended`). */
export function CheckboxGroup(p: { legend: string; name: string; options: readonly string[]; value: readonly string[]; onChange: (v: string[]) => void; errs: FieldErrors; hint?: ReactNode }) {
  const id = useId();
  const errs = p.errs.at(p.name);
  const toggle = (o: string, on: boolean): void => p.onChange(on ? p.options.filter((x) => x === o || p.value.includes(x)) : p.value.filter((x) => x !== o));
  return (
    <fieldset className="field checks" aria-describedby={errs.length > 0 ? `${id}-error` : undefined}>
      <legend>{p.legend}</legend>
      {p.options.map((o) => (
        <label key={o} className="check">
          <input type="checkbox" name={p.name} value={o} checked={p.value.includes(o)} onChange={(e) => toggle(o, e.target.checked)} />
          <code>{o}</code>
        </label>
      ))}
      {p.hint && <small className="hint">{p.hint}</small>}
      <ErrorText id={`${id}-error`} messages={errs} />
    </fieldset>
  );
}

/** An on/off switch (role=switch): seed 004's "Enabled". */
export function Switch({ label, checked, onChange }: { label: string; checked: boolean; onChange: (on: boolean) => void }) {
  return (
    <button type="button" role="switch" aria-checked={checked} className={`switch${checked ? ' on' : ''}`} onClick={() => onChange(!checked)}>
      <span className="knob" aria-hidden="true" />
      {label}
    </button>
  );
}

export type HeaderRows = [string, string][];

/** How views show a credential-like header's value; sent back as is, the saved value stays. */
const REDACTED = '[redacted]';

export const headerRows = (h: Record<string, string> | undefined): HeaderRows => Object.entries(h ?? {});
export const headerObject = (rows: HeaderRows): Record<string, string> => Object.fromEntries(rows.filter(([n, v]) => n.trim() !== '' || v !== '').map(([n, v]) => [n.trim(), v]));

/** Extra request headers as name/value rows; a header the API refuses is shown beside the list. */
export function HeadersEditor({ legend = 'Headers', value, onChange, errs, hint }: { legend?: string; value: HeaderRows; onChange: (v: HeaderRows) => void; errs: FieldErrors; hint?: ReactNode }) {
  const id = useId();
  const messages = errs.at('headers');
  const set = (i: number, col: 0 | 1, v: string): void => onChange(value.map((r, j) => (j === i ? (col === 0 ? [v, r[1]] : [r[0], v]) : r)));
  return (
    <fieldset className="field headers" aria-describedby={messages.length > 0 ? `${id}-error` : undefined}>
      <legend>{legend}</legend>
      {value.map(([n, v], i) => (
        <div className="header-row" key={i}>
          <input aria-label={`Header ${i + 1} name`} placeholder="Authorization" value={n} onChange={(e) => set(i, 0, e.target.value)} />
          <input aria-label={`Header ${i + 1} value`} placeholder="Bearer …" value={v} onChange={(e) => set(i, 1, e.target.value)} />
          <button type="button" onClick={() => onChange(value.filter((_, j) => j !== i))}>Remove header</button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...value, ['', '']])}>Add header</button>
      {hint && <small className="hint">{hint}</small>}
      {value.some(([, v]) => v === REDACTED) && (
        <small className="hint">Values shown as <code>{REDACTED}</code> keep their saved value on Save (retype one to change it); a test before saving sends them as shown.</small>
      )}
      <ErrorText id={`${id}-error`} messages={messages} />
    </fieldset>
  );
}

/** What a test answers (`POST …/test`, `POST /v1/test-deliveries`), as the OpenAPI document says. */
export type TestOutcome = Answer<'/v1/test-deliveries', 'post'>;

export function TestResult({ result }: { result: TestOutcome }) {
  const page = `#/deliveries/${result.delivery_id}`;
  return (
    <div role="status" className={`test-result ${result.success ? 'ok' : 'failed'}`}>
      <strong>{result.success ? 'Test delivered' : 'Test failed'}</strong>{' '}
      <code>{result.event}</code>: {result.status_code === null ? 'no answer' : `HTTP ${result.status_code}`} in {Math.round(result.latency_ms)} ms
      {result.error && <> — {result.error}</>}
      {' · '}<a href={page}>{result.delivery_id}</a>
      <details>
        <summary>Request as sent</summary>
        <pre>{`${result.request.method} ${result.request.url}\n${Object.entries(result.request.headers).map(([k, v]) => `${k}: ${v}`).join('\n')}${result.request.body === null ? '' : `\n\n${result.request.body}`}`}</pre>
        {result.response_excerpt !== null && <><p>Response</p><pre>{result.response_excerpt}</pre></>}
        <p>The delivery log keeps it (as a test): <a href={page}>open the delivery's page</a> for the attempt's response headers, or to retry it.</p>
      </details>
    </div>
  );
}

/** Runs one request at a time for a form: busy while it runs, its problem kept for the fields. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<FormProblem | null>(null);
  const run = async <T,>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setProblem(null);
    try {
      return await fn();
    } catch (err) {
      setProblem(asProblem(err));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, problem, setProblem, run };
}

/** A test of a configuration not saved yet (or an edit not saved yet): `POST /v1/test-deliveries`. */
export const testUnsaved = (format: Body<'/v1/test-deliveries', 'post'>['format'], config: object, event?: string): Promise<TestOutcome> =>
  ok(client.POST('/v1/test-deliveries', { body: { format, ...(event ? { test_event: event } : {}), ...config } }));

/** A saved target's test: `POST /v1/{kind}/{id}/test`. */
export const testSaved = (path: string, id: string, event?: string): Promise<TestOutcome> =>
  api<TestOutcome>('POST', `${path}/${encodeURIComponent(id)}/test`, event ? { event } : undefined);

/** Form-level messages: what names no field shown. */
export function FormErrors({ errs }: { errs: FieldErrors }) {
  if (errs.rest.length === 0) return null;
  return <p role="alert" className="error">{errs.rest.join(' ')}</p>;
}

/** A target's state as every view shows it. */
export function State({ enabled, reason }: { enabled: boolean; reason: string | null }) {
  return enabled ? <span className="badge on">enabled</span> : <span className="badge off" title={reason ?? undefined}>disabled{reason ? `: ${reason}` : ''}</span>;
}

export const lines = (s: string): string[] => s.split(/[\n,]/).map((x) => x.trim()).filter((x) => x !== '');
