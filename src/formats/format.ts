import type { OutgoingRequest } from '../store/contract.ts';
import type { FormatName } from '../targets/model.ts';

/** One delivery as a format renders it: the format's own event name and the bytes to send. */
export interface Rendered {
  event_name: string;
  request: OutgoingRequest;
}

/** SPEC §5 success rules: most formats take any 2xx; seed 001 only 200 and 202; seed 004 only 200. */
export const SUCCESS: Record<FormatName, (status: number) => boolean> = {
  standard: (s) => s >= 200 && s < 300,
  callback: (s) => s >= 200 && s < 300,
  'push-report': (s) => s === 200 || s === 202,
  channels: (s) => s >= 200 && s < 300,
  'call-tracking': (s) => s >= 200 && s < 300,
  custom: (s) => s === 200,
};

export const JSON_HEADERS = { 'content-type': 'application/json' } as const;
