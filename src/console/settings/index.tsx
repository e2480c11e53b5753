import type { ReactNode } from 'react';

/**
 * The settings pages, one per format, keyed by their navigation path ('/endpoints',
 * '/callback-profiles', '/webhooks', '/subscriptions', '/call-tracking', '/custom-webhook').
 * The app shell (main.tsx) renders the page whose path the route starts with.
 */
export const settingsPages: Partial<Record<string, (props: { route: string }) => ReactNode>> = {};
