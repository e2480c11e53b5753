import { Suspense, lazy, type ComponentType, type ReactNode } from 'react';

/**
 * The settings pages, one per format, keyed by their navigation path ('/endpoints',
 * '/callback-profiles', '/webhooks', '/subscriptions', '/call-tracking', '/custom-webhook').
 * The app shell (main.tsx) renders the page whose path the route starts with. Each entry only
 * returns an element (the shell calls it as a function): the pages' hooks live in the pages.
 * They load on first visit (their own chunk), so the Calls page's first load does not carry them.
 */
function page(load: () => Promise<ComponentType>): (props: { route: string }) => ReactNode {
  const Page = lazy(async () => ({ default: await load() }));
  return () => <Suspense fallback={<p>Loading…</p>}><Page /></Suspense>;
}

export const settingsPages: Partial<Record<string, (props: { route: string }) => ReactNode>> = {
  '/endpoints': page(async () => (await import('./endpoints.tsx')).EndpointsPage),
  '/callback-profiles': page(async () => (await import('./callback-profiles.tsx')).CallbackProfilesPage),
  '/webhooks': page(async () => (await import('./webhooks.tsx')).WebhooksPage),
  '/subscriptions': page(async () => (await import('./subscriptions.tsx')).SubscriptionsPage),
  '/call-tracking': page(async () => (await import('./call-tracking.tsx')).CallTrackingPage),
  '/custom-webhook': page(async () => (await import('./custom-webhook.tsx')).CustomWebhookPage),
};
