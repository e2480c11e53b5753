import type { Call, CallKind } from '../calls/model.ts';
import { HooklineError, type FieldError } from '../errors.ts';
import { C2C_EVENTS, CALLBACK_VARS, MAX_CALLBACK_TARGETS, OBD_EVENTS } from '../formats/callback.ts';
import { checkUrlTemplate } from './callback-profiles.ts';

function bad(field: string, message: string): HooklineError {
  const e: FieldError = { field, code: 'invalid_callback', message };
  return new HooklineError('invalid_callback', message, { field, errors: [e] });
}

/**
 * Checks and normalises the seed-000 `callback` parameter before any call is placed: keys are
 * case-insensitive at both levels, only the API's own events, at most 10 profile ids and URLs in
 * all, every profile id the account's own, every URL valid. Answers lower-case keys and
 * de-duplicated lists (a target is called once per event it is listed under).
 */
export async function normalizeCallback(
  raw: Record<string, unknown>,
  kind: CallKind,
  profileExists: (id: string) => Promise<boolean>,
  allowPrivate: boolean,
): Promise<NonNullable<Call['callback']>> {
  const allowed: readonly string[] = kind === 'click_to_call' ? C2C_EVENTS : OBD_EVENTS;
  const api = kind === 'click_to_call' ? 'Click to Call' : 'Outbound Calling';
  const out: NonNullable<Call['callback']> = {};
  let total = 0;
  for (const [rawKey, value] of Object.entries(raw)) {
    const event = rawKey.toLowerCase();
    const at = `callback.${rawKey}`;
    if (!allowed.includes(event)) throw bad(at, `${at}: "${rawKey}" is not a callback event of the ${api} API; use one of ${allowed.join(', ')}`);
    if (out[event]) throw bad(at, `${at}: the event ${event} is given twice (keys are case-insensitive)`);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(at, `${at} must be an object {callback_profile: [], url: []}`);
    const entry = { callback_profile: [] as string[], url: [] as string[] };
    const seenInner = new Set<string>();
    for (const [innerKey, list] of Object.entries(value)) {
      const inner = innerKey.toLowerCase();
      const field = `${at}.${innerKey}`;
      if (inner !== 'callback_profile' && inner !== 'url') throw bad(field, `${field}: unknown key; use callback_profile and url`);
      if (seenInner.has(inner)) throw bad(field, `${field}: given twice (keys are case-insensitive)`);
      seenInner.add(inner);
      if (!Array.isArray(list) || list.some((v) => typeof v !== 'string' || v.length === 0 || v.length > 2048)) {
        throw bad(field, `${field} must be an array of non-empty strings`);
      }
      total += list.length;
      if (total > MAX_CALLBACK_TARGETS) {
        throw bad('callback', `callback: at most ${MAX_CALLBACK_TARGETS} callback profile ids and URLs in all; ${field} goes past that`);
      }
      entry[inner] = [...new Set(list as string[])];
    }
    out[event] = entry;
  }
  // Checked after the count, so an 11th target is refused for the count whatever it names.
  for (const [event, entry] of Object.entries(out)) {
    for (const [i, id] of entry.callback_profile.entries()) {
      if (!(await profileExists(id))) throw bad(`callback.${event}.callback_profile[${i}]`, `callback.${event}.callback_profile[${i}]: no callback profile "${id}" in this account`);
    }
    for (const [i, url] of entry.url.entries()) {
      try {
        checkUrlTemplate(url, CALLBACK_VARS, allowPrivate, `callback.${event}.url[${i}]`);
      } catch (err) {
        if (err instanceof HooklineError) throw bad(`callback.${event}.url[${i}]`, err.message);
        throw err;
      }
    }
  }
  return out;
}
