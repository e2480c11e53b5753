import type { FormatName } from '../targets/model.ts';
import { callTrackingFormat } from './call-tracking.ts';
import { callbackFormat } from './callback.ts';
import { channelsFormat } from './channels.ts';
import { customFormat } from './custom.ts';
import type { Format } from './format.ts';
import { pushReportFormat } from './push-report.ts';
import { standardFormat } from './standard.ts';

/**
 * Every wire format Hookline speaks, one module each. Fan-out, the dispatcher and the test
 * route loop over this list and know no format by name: a new format is one module here.
 */
export const FORMAT_LIST: readonly Format[] = [standardFormat, callbackFormat, pushReportFormat, channelsFormat, callTrackingFormat, customFormat];

const byName = new Map<string, Format>(FORMAT_LIST.map((f) => [f.name, f]));

/** The format of a stored delivery or a test request; throws on a name no module has. */
export function formatOf(name: FormatName | string): Format {
  const f = byName.get(name);
  if (!f) throw new Error(`no format "${name}"`);
  return f;
}

/** The format whose targets are stored as this resource kind, if any (properties are not targets). */
export function formatOfKind(kind: string): Format | undefined {
  return FORMAT_LIST.find((f) => f.kind === kind);
}
