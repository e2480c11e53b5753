import type { ReactNode } from 'react';
import { CallTrackingPage } from './call-tracking.tsx';
import { CallbackProfilesPage } from './callback-profiles.tsx';
import { CustomWebhookPage } from './custom-webhook.tsx';
import { EndpointsPage } from './endpoints.tsx';
import { SubscriptionsPage } from './subscriptions.tsx';
import { WebhooksPage } from './webhooks.tsx';

/**
 * The settings pages, one per format, keyed by their navigation path ('/endpoints',
 * '/callback-profiles', '/webhooks', '/subscriptions', '/call-tracking', '/custom-webhook').
 * The app shell (main.tsx) renders the page whose path the route starts with. Each entry only
 * returns an element (the shell calls it as a function): the pages' hooks live in the pages.
 */
export const settingsPages: Partial<Record<string, (props: { route: string }) => ReactNode>> = {
  '/endpoints': () => <EndpointsPage />,
  '/callback-profiles': () => <CallbackProfilesPage />,
  '/webhooks': () => <WebhooksPage />,
  '/subscriptions': () => <SubscriptionsPage />,
  '/call-tracking': () => <CallTrackingPage />,
  '/custom-webhook': () => <CustomWebhookPage />,
};
