/**
 * The errors of a PostgreSQL server that cannot be reached or is going away: the connection
 * refused, reset or timed out, the server shutting down or out of connections. A request that
 * meets one is answered 503 (try again), not 500: nothing is wrong with the request or with
 * Hookline, and the database coming back is enough.
 */
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown, crash
// recovery, cannot connect now), and 53300 (too many connections).
const SQLSTATE = /^(08...|57P0[1-3]|53300)$/;
// pg's own, without a code: a connection ended under a query, a pool that could not connect in time.
const MESSAGE = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable)/;

export function unreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  // Node's http server says a client that went away mid-body as Error('aborted'), code ECONNRESET: not ours
  if (typeof code === 'string') return (NETWORK.has(code) && err.message !== 'aborted') || SQLSTATE.test(code);
  // connecting to a name with several addresses fails with an AggregateError of the attempts
  const errors = (err as { errors?: unknown[] }).errors;
  if (Array.isArray(errors) && errors.length > 0) return errors.every(unreachable);
  return MESSAGE.test(err.message);
}
