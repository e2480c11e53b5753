import type { Answer, Body } from '../api.ts';
import { CheckboxGroup, SelectField, TextField } from './form.tsx';
import { TargetList, type TargetKind } from './targets.tsx';

/** Seed 002: the statuses each voice lifecycle event knows, in a call's order. */
export const CHANNEL_STATUSES = {
  'voice.inbound': ['starting', 'ringing', 'ongoing', 'completed', 'no-answer', 'busy', 'failed'],
  'voice.outbound': ['accepted', 'starting', 'ringing', 'ongoing', 'completed', 'no-answer', 'busy', 'failed', 'cancelled'],
} as const;
type ChannelEvent = keyof typeof CHANNEL_STATUSES;
const CHANNEL_EVENTS = Object.keys(CHANNEL_STATUSES) as ChannelEvent[];

/** A subscription in the seed's own shape. */
type Subscription = Answer<'/v1/subscriptions/{id}', 'get'>;
type SubscriptionBody = Body<'/v1/subscriptions', 'post'>;

interface Form {
  event: ChannelEvent;
  url: string;
  /** blank on an edit: keep the stored key (it is never shown back) */
  signingKey: string;
  removeKey: boolean;
  statuses: string[];
  channelId: string;
}

/** The seed's eventFilters: the one channelId filter first, then one per status. */
function filtersOf(f: Form): { key: string; value: string }[] {
  const out = f.channelId.trim() === '' ? [] : [{ key: 'channelId', value: f.channelId.trim() }];
  const allowed: readonly string[] = CHANNEL_STATUSES[f.event];
  return [...out, ...f.statuses.filter((s) => allowed.includes(s)).map((value) => ({ key: 'status', value }))];
}

export const subscriptionKind: TargetKind<Form, Subscription, SubscriptionBody> = {
  path: '/v1/subscriptions',
  format: 'channels',
  noun: 'subscription',
  empty: { event: 'voice.inbound', url: '', signingKey: '', removeKey: false, statuses: [], channelId: '' },
  fromView: (v) => ({
    event: v.event === 'voice.outbound' ? 'voice.outbound' : 'voice.inbound', url: v.url, signingKey: '', removeKey: false,
    statuses: v.eventFilters.filter((f) => f.key === 'status').map((f) => f.value),
    channelId: v.eventFilters.find((f) => f.key === 'channelId')?.value ?? '',
  }),
  toBody: (f): SubscriptionBody => ({
    service: 'channels',
    event: f.event,
    url: f.url,
    // a new key replaces the stored one; blank keeps it (or, on a create, signs nothing)
    ...(f.removeKey ? { signingKey: null } : f.signingKey !== '' ? { signingKey: f.signingKey } : {}),
    eventFilters: filtersOf(f),
  }),
  fields: ['event', 'url', 'signingKey', 'status', 'channelId', 'eventFilters', 'service'],
  rename: (field, f) => {
    const m = /^eventFilters\[(\d+)\]/.exec(field);
    if (!m) return field;
    return filtersOf(f)[Number(m[1])]?.key === 'channelId' ? 'channelId' : 'status';
  },
  Fields: ({ form, set, errs, editing }) => (
    <>
      <SelectField label="Event" name="event" value={form.event} options={CHANNEL_EVENTS} onChange={(event) => set({ ...form, event })} errs={errs} />
      <TextField label="URL" name="url" value={form.url} onChange={(url) => set({ ...form, url })} errs={errs} placeholder="https://yoururl.com" />
      <TextField label="Signing key" name="signingKey" type="password" value={form.signingKey} onChange={(signingKey) => set({ ...form, signingKey, removeKey: false })} errs={errs}
        hint={editing?.signingKey ? 'A key is set (never shown back): leave blank to keep it.' : 'Signs each request (messagebird-signature); optional.'} />
      {editing?.signingKey && (
        <label className="check">
          <input type="checkbox" checked={form.removeKey} onChange={(e) => set({ ...form, removeKey: e.target.checked, signingKey: '' })} /> Remove the signing key
        </label>
      )}
      <CheckboxGroup legend="Filter by call status" name="status" options={CHANNEL_STATUSES[form.event]} value={form.statuses}
        onChange={(statuses) => set({ ...form, statuses })} errs={errs} hint="None checked: every status of the call." />
      <TextField label="Filter channel ID" name="channelId" value={form.channelId} onChange={(channelId) => set({ ...form, channelId })} errs={errs}
        placeholder="b827924e-9789-4c2f-a4d5-b352175354f6" hint="One channelId per subscription; empty: every voice channel." />
    </>
  ),
  idOf: (v) => v.id,
  columns: [
    { head: 'Event', cell: (v) => <code>{v.event}</code> },
    { head: 'URL', cell: (v) => v.url },
    { head: 'Filters', cell: (v) => (v.eventFilters.length === 0 ? 'none' : v.eventFilters.map((f) => `${f.key}=${f.value}`).join(', ')) },
    { head: 'Signing key', cell: (v) => (v.signingKey ? 'set' : 'none') },
  ],
  testEvents: ['completed', ...CHANNEL_STATUSES['voice.outbound'].filter((s) => s !== 'completed')],
  // the subscription in the seed's shape, as the form stands (the key masked)
  Preview: ({ form, editing }) => {
    const body = subscriptionKind.toBody(form, editing);
    const key = body.signingKey === undefined ? (editing?.signingKey ?? null) : body.signingKey;
    const shown = { ...body, signingKey: key === null ? null : '••••••' };
    return (
      <aside className="preview" aria-label="Subscription">
        <h4>Subscription</h4>
        <pre>{JSON.stringify(shown, null, 2)}</pre>
      </aside>
    );
  },
};

export function SubscriptionsPage() {
  return (
    <>
      <h2>Subscriptions</h2>
      <TargetList kind={subscriptionKind} intro={
        <p>
          Voice webhooks: a subscription listens to the voice lifecycle events <code>voice.inbound</code> (incoming calls) or
          {' '}<code>voice.outbound</code> (outgoing calls). Without a call status filter you receive every status; without a channel ID filter, every voice channel.
        </p>
      } />
    </>
  );
}
