import { useState } from 'react';
import { DIRECTIONS, EVENT_TYPES, OUTCOMES } from '../../calls/model.ts';
import { client, ok, type Answer, type Body } from '../api.ts';
import { CheckboxGroup, HeadersEditor, TextField, headerObject, headerRows, lines, useAction, type HeaderRows } from './form.tsx';
import { TargetList, type TargetKind } from './targets.tsx';
import { dateTime } from '../ui.tsx';

/** GET /v1/endpoints/{id} (the secret only when created, revealed or rotated), as the OpenAPI document says. */
type Endpoint = Answer<'/v1/endpoints/{id}', 'get'>;
type EndpointBody = Body<'/v1/endpoints', 'post'>;
type Filters = NonNullable<EndpointBody['filters']>;

interface Form {
  url: string;
  description: string;
  events: string[];
  direction: string[];
  outcome: string[];
  channel_id: string;
  headers: HeaderRows;
}

/** The secret of one endpoint, shown on demand: "Reveal secret", "Rotate secret". */
function SecretActions({ view }: { view: Endpoint }) {
  const [secret, setSecret] = useState<string | null>(null);
  const act = useAction();
  const params = { path: { id: view.id } };
  const reveal = async (): Promise<void> => {
    const r = await act.run(() => ok(client.GET('/v1/endpoints/{id}/secret', { params })));
    if (r) setSecret(r.secret);
  };
  const rotate = async (): Promise<void> => {
    if (!confirm('Rotate the secret? The old one keeps signing beside the new one for 24 hours.')) return;
    const r = await act.run(() => ok(client.POST('/v1/endpoints/{id}/secret/rotate', { params, body: {} })));
    if (r) setSecret(r.secret);
  };
  return (
    <>
      <button type="button" disabled={act.busy} onClick={() => void reveal()}>Reveal secret</button>
      <button type="button" disabled={act.busy} onClick={() => void rotate()}>Rotate secret</button>
      {secret !== null && <code className="secret" aria-label="Signing secret">{secret}</code>}
      {act.problem && <span role="alert" className="error">{act.problem.detail}</span>}
    </>
  );
}

const filtersOf = (f: Form): Filters => {
  const out: Filters = {};
  if (f.direction.length > 0) out.direction = f.direction as Filters['direction'];
  if (f.outcome.length > 0) out.outcome = f.outcome as Filters['outcome'];
  const channels = lines(f.channel_id);
  if (channels.length > 0) out.channel_id = channels;
  return out;
};

export const endpointKind: TargetKind<Form, Endpoint, EndpointBody> = {
  path: '/v1/endpoints',
  format: 'standard',
  noun: 'endpoint',
  empty: { url: '', description: '', events: [], direction: [], outcome: [], channel_id: '', headers: [] },
  fromView: (v) => {
    const filters = (v.filters ?? {}) as Filters;
    return {
      url: v.url, description: v.description ?? '', events: v.events, direction: filters.direction ?? [], outcome: filters.outcome ?? [],
      channel_id: (filters.channel_id ?? []).join(', '), headers: headerRows(v.headers),
    };
  },
  toBody: (f, editing) => ({
    url: f.url,
    // an empty description clears it on an edit, and is left out of a create
    ...(f.description !== '' ? { description: f.description } : editing ? { description: null } : {}),
    events: f.events as EndpointBody['events'],
    filters: filtersOf(f),
    headers: headerObject(f.headers),
  }),
  fields: ['url', 'description', 'events', 'filters.direction', 'filters.outcome', 'filters.channel_id', 'filters', 'headers', 'secret'],
  Fields: ({ form, set, errs }) => (
    <>
      <TextField label="URL" name="url" value={form.url} onChange={(url) => set({ ...form, url })} errs={errs} placeholder="https://example.com/hooks" />
      <TextField label="Description" name="description" value={form.description} onChange={(description) => set({ ...form, description })} errs={errs} />
      <CheckboxGroup legend="Events" name="events" options={EVENT_TYPES} value={form.events} onChange={(events) => set({ ...form, events })} errs={errs} hint="None checked: every event." />
      <CheckboxGroup legend="Direction filter" name="filters.direction" options={DIRECTIONS} value={form.direction} onChange={(direction) => set({ ...form, direction })} errs={errs} hint="None checked: both directions." />
      <CheckboxGroup legend="Outcome filter" name="filters.outcome" options={OUTCOMES} value={form.outcome} onChange={(outcome) => set({ ...form, outcome })} errs={errs} hint="Applies to call.ended only." />
      <TextField label="Channel filter" name="filters.channel_id" value={form.channel_id} onChange={(channel_id) => set({ ...form, channel_id })} errs={errs} hint="Channel ids, comma-separated; empty: every channel." />
      <HeadersEditor value={form.headers} onChange={(headers) => set({ ...form, headers })} errs={errs} />
    </>
  ),
  idOf: (v) => v.id,
  columns: [
    { head: 'URL', cell: (v) => v.url },
    { head: 'Events', cell: (v) => (v.events.length === 0 ? 'all' : v.events.join(', ')) },
    { head: 'Last success', cell: (v) => (v.last_success_at ? dateTime(v.last_success_at) : '—') },
  ],
  testEvents: ['call.ended', ...EVENT_TYPES.filter((e) => e !== 'call.ended')],
  RowActions: ({ view }) => <SecretActions view={view} />,
  Created: ({ view }) => (
    <div role="status" className="card">
      Endpoint <code>{view.id}</code> created. Its signing secret (also shown by "Reveal secret"):
      <code className="secret">{view.secret}</code>
    </div>
  ),
};

export function EndpointsPage() {
  return (
    <>
      <h2>Endpoints</h2>
      <TargetList kind={endpointKind} intro={<p>Standard Webhooks endpoints: every call event, signed with <code>webhook-id</code>, <code>webhook-timestamp</code> and <code>webhook-signature</code>.</p>} />
    </>
  );
}
