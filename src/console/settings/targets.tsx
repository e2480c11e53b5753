import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { api, type Body, type List } from '../api.ts';
import {
  FormErrors, SelectField, State, TestResult, fieldErrors, testSaved, testUnsaved, useAction,
  type FieldErrors, type FormProblem, type TestOutcome,
} from './form.tsx';

/** What every target view shows beside its own fields. */
export interface TargetView {
  enabled: boolean;
  disabled_reason?: string | null;
  disabledReason?: string | null;
}

/**
 * One kind of target (a format's configuration) as a settings page shows it: its list, its form
 * (the create body's fields), and how the two map. The page itself is the same for every kind:
 * add, edit, disable / enable, send a test (before saving and after), delete.
 */
export interface TargetKind<F, V extends TargetView, B extends object = Record<string, unknown>> {
  /** the API's collection, e.g. /v1/endpoints */
  path: string;
  /** the format name POST /v1/test-deliveries takes */
  format: Body<'/v1/test-deliveries', 'post'>['format'];
  /** "endpoint": the buttons say "Add endpoint", the form "New endpoint" */
  noun: string;
  empty: F;
  fromView(v: V): F;
  /** the create / PATCH body (also what an unsaved test sends) */
  toBody(f: F, editing: V | null): B;
  /** the form's fields; `fields` lists the names they show errors for */
  Fields(p: { form: F; set: (f: F) => void; errs: FieldErrors; editing: V | null }): ReactNode;
  fields: readonly string[];
  /** an API field as the form names it (seed 002's `eventFilters[1].value` is the status filter) */
  rename?(field: string, form: F): string;
  idOf(v: V): string;
  /** the columns of the list */
  columns: { head: string; cell(v: V): ReactNode }[];
  /** the format's own event names a test may ask for (the first is the default) */
  testEvents?: readonly string[];
  /** more buttons per row (an endpoint's secret) */
  RowActions?(p: { view: V; reload: () => void }): ReactNode;
  /** what a create answers that later reads do not show (an endpoint's secret) */
  Created?(p: { view: V }): ReactNode;
  /** beside the form: a preview from a sample call */
  Preview?(p: { form: F; editing: V | null }): ReactNode;
}

function renamed(p: FormProblem | null, rename: (field: string) => string): FormProblem | null {
  if (!p) return p;
  return {
    ...p,
    ...(p.field !== undefined ? { field: rename(p.field) } : {}),
    ...(p.errors ? { errors: p.errors.map((e) => ({ ...e, field: rename(e.field) })) } : {}),
  };
}

const reasonOf = (v: TargetView): string | null => v.disabled_reason ?? v.disabledReason ?? null;

function TestEventSelect({ events, value, onChange }: { events: readonly string[]; value: string; onChange: (v: string) => void }) {
  const none: FieldErrors = { at: () => [], rest: [] };
  return <SelectField label="Test event" name="test_event" value={value} options={events} onChange={onChange} errs={none} />;
}

function TargetForm<F, V extends TargetView, B extends object>({ kind, editing, onDone }: { kind: TargetKind<F, V, B>; editing: V | null; onDone: (saved: V | null) => void }) {
  const [form, setForm] = useState<F>(editing ? kind.fromView(editing) : kind.empty);
  const [result, setResult] = useState<TestOutcome | null>(null);
  const [testEvent, setTestEvent] = useState(kind.testEvents?.[0] ?? '');
  const save = useAction();
  const test = useAction();
  const problem = renamed(save.problem ?? test.problem, (f) => kind.rename?.(f, form) ?? f);
  const errs = fieldErrors(problem, [...kind.fields, 'test_event', 'event']);
  const pristine = editing !== null && JSON.stringify(form) === JSON.stringify(kind.fromView(editing));
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    test.setProblem(null);
    const body = kind.toBody(form, editing);
    const saved = await save.run(() => (editing
      ? api<V>('PATCH', `${kind.path}/${encodeURIComponent(kind.idOf(editing))}`, body)
      : api<V>('POST', kind.path, body)));
    if (saved) onDone(saved);
  };
  const sendTest = async (): Promise<void> => {
    save.setProblem(null);
    setResult(null);
    const event = testEvent || undefined;
    // an unchanged saved target is tested as saved; anything else as the form stands
    const r = await test.run(() => (pristine ? testSaved(kind.path, kind.idOf(editing), event) : testUnsaved(kind.format, kind.toBody(form, editing), event)));
    if (r) setResult(r);
  };
  const title = editing ? `Edit ${kind.noun}` : `New ${kind.noun}`;
  return (
    <div className="form-and-preview">
      <form className="card settings-form" aria-label={title} noValidate onSubmit={(e) => void submit(e)}>
        <h3>{title}{editing && <> <code>{kind.idOf(editing)}</code></>}</h3>
        <kind.Fields form={form} set={setForm} errs={errs} editing={editing} />
        {kind.testEvents && kind.testEvents.length > 1 && <TestEventSelect events={kind.testEvents} value={testEvent} onChange={setTestEvent} />}
        {errs.at('test_event').length + errs.at('event').length > 0 && <p role="alert" className="field-error">{[...errs.at('test_event'), ...errs.at('event')].join(' ')}</p>}
        <FormErrors errs={errs} />
        <div className="actions">
          <button type="submit" disabled={save.busy}>{editing ? 'Save' : 'Create'}</button>
          <button type="button" disabled={test.busy} onClick={() => void sendTest()}>Send test</button>
          <button type="button" onClick={() => onDone(null)}>Cancel</button>
        </div>
        {result && <TestResult result={result} />}
      </form>
      {kind.Preview && <kind.Preview form={form} editing={editing} />}
    </div>
  );
}

function Row<F, V extends TargetView, B extends object>({ kind, view, onEdit, reload }: { kind: TargetKind<F, V, B>; view: V; onEdit: () => void; reload: () => void }) {
  const act = useAction();
  const [result, setResult] = useState<TestOutcome | null>(null);
  const id = kind.idOf(view);
  const url = `${kind.path}/${encodeURIComponent(id)}`;
  const toggle = async (): Promise<void> => {
    if (await act.run(() => api('PATCH', url, { enabled: !view.enabled }))) reload();
  };
  const test = async (): Promise<void> => {
    setResult(null);
    const r = await act.run(() => testSaved(kind.path, id, kind.testEvents?.[0]));
    if (r) setResult(r);
  };
  const [note, setNote] = useState<string | null>(null);
  // its dead deliveries sent again, oldest first (POST /v1/deliveries/recover): after a fix, or re-enabling it
  const recover = async (): Promise<void> => {
    setNote(null);
    const r = await act.run(() => api<{ retried: number; more: boolean }>('POST', '/v1/deliveries/recover', { target_id: id }));
    if (r) setNote(`${r.retried} dead ${r.retried === 1 ? 'delivery' : 'deliveries'} sent again${r.more ? '; more remain: press again' : ''}`);
  };
  const remove = async (): Promise<void> => {
    if (!confirm(`Delete ${kind.noun} ${id}?`)) return;
    await act.run(() => api('DELETE', url));
    reload();
  };
  const cols = kind.columns.length + 3;
  return (
    <>
      <tr data-id={id}>
        <td><code>{id}</code></td>
        {kind.columns.map((c) => <td key={c.head}>{c.cell(view)}</td>)}
        <td><State enabled={view.enabled} reason={reasonOf(view)} /></td>
        <td className="row-actions">
          <button type="button" onClick={onEdit}>Edit</button>
          <button type="button" disabled={act.busy} onClick={() => void toggle()}>{view.enabled ? 'Disable' : 'Enable'}</button>
          <button type="button" disabled={act.busy} onClick={() => void test()}>Send test</button>
          <button type="button" disabled={act.busy} onClick={() => void recover()}>Resend dead</button>
          {kind.RowActions && <kind.RowActions view={view} reload={reload} />}
          <button type="button" className="danger" disabled={act.busy} onClick={() => void remove()}>Delete</button>
        </td>
      </tr>
      {(result || act.problem || note) && (
        <tr className="row-detail" data-for={id}>
          <td colSpan={cols}>
            {act.problem && <p role="alert" className="error">{act.problem.detail}</p>}
            {note && <p role="status">{note}</p>}
            {result && <TestResult result={result} />}
          </td>
        </tr>
      )}
    </>
  );
}

/** The list of one kind of target, newest first, with its form above it. */
export function TargetList<F, V extends TargetView, B extends object>({ kind, intro, title }: { kind: TargetKind<F, V, B>; intro?: ReactNode; title?: string }) {
  const [items, setItems] = useState<V[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [editing, setEditing] = useState<V | 'new' | null>(null);
  const [created, setCreated] = useState<V | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const load = (): void => {
    api<List<V>>('GET', `${kind.path}?limit=100`).then((l) => {
      setItems(l.data);
      setCursor(l.next_cursor);
      setLoadError(null);
    }, (err: unknown) => setLoadError(err instanceof Error ? err.message : String(err)));
  };
  const more = (): void => {
    if (cursor === null) return;
    api<List<V>>('GET', `${kind.path}?limit=100&cursor=${encodeURIComponent(cursor)}`).then((l) => {
      setItems((xs) => [...(xs ?? []), ...l.data]);
      setCursor(l.next_cursor);
    }, () => undefined);
  };
  useEffect(load, [kind.path]);
  const done = (saved: V | null): void => {
    if (saved && editing === 'new') setCreated(saved);
    setEditing(null);
    load();
  };
  return (
    <section className="settings">
      {title && <h3>{title}</h3>}
      {intro}
      {editing === null
        ? <button type="button" onClick={() => { setCreated(null); setEditing('new'); }}>Add {kind.noun}</button>
        : <TargetForm key={editing === 'new' ? 'new' : kind.idOf(editing)} kind={kind} editing={editing === 'new' ? null : editing} onDone={done} />}
      {created && kind.Created && <kind.Created view={created} />}
      {loadError && <p role="alert" className="error">{loadError}</p>}
      {items === null ? <p>Loading…</p> : items.length === 0 ? <p className="empty">No {kind.noun} yet.</p> : (
        <table className="targets" aria-label={`${kind.noun}s`}>
          <thead>
            <tr><th>Id</th>{kind.columns.map((c) => <th key={c.head}>{c.head}</th>)}<th>State</th><th>Actions</th></tr>
          </thead>
          <tbody>
            {items.map((v) => <Row key={kind.idOf(v)} kind={kind} view={v} onEdit={() => setEditing(v)} reload={load} />)}
          </tbody>
        </table>
      )}
      {cursor !== null && <button type="button" onClick={more}>Load more</button>}
    </section>
  );
}
