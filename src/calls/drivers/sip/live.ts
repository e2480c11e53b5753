import type { Message, Target } from './stack.ts';
import type { Dialog, SipState } from './state.ts';

/** What the SIP driver holds in memory for the legs this run placed (state.ts is what it stores). */

/** A leg this run placed, while its INVITE or dialog lives. */
export interface Live {
  call: string;
  leg: string;
  dialog: Dialog;
  invite: Message;
  to: Target;
  provisional: boolean;
  answered: boolean;
  /** the call ended on Hookline's side (hangup, timer): the leg is cancelled or hung up */
  ended: boolean;
  /** the far end ended the leg (BYE, final response): nothing more to send */
  done: boolean;
  cancelled: boolean;
  authTried: boolean;
  /** set by a CANCEL: the INVITE's final answer (487) settles it, for a stop that waits for it */
  settle: (() => void) | undefined;
  /** click-to-call leg `from`: its 2xx waits for leg `to`'s SDP answer before the ACK (RFC 3725 flow I) */
  holdAck: boolean;
  /** the body of this leg's ACK, once known (a retransmitted 2xx is ACKed the same) */
  ackBody: string | undefined;
  /** the call's plan, for the next leg of a click-to-call */
  plan: SipState;
}

/**
 * How long a stop waits for the answers to its BYEs and CANCELs: SIPp answers in ~1 ms, a trunk
 * across a WAN in tens; a far end silent for 2 s is left to its own timers.
 */
const STOP_WAIT_MS = 2_000;

/** The BYEs and CANCELs under way, each settled by its final answer: a stop waits for them. */
export class Closing {
  readonly #open = new Set<Promise<void>>();

  /** One more under way; the function settles it. */
  track(): () => void {
    const d = Promise.withResolvers<void>();
    this.#open.add(d.promise);
    void d.promise.then(() => this.#open.delete(d.promise));
    return d.resolve;
  }

  /**
   * Resolves once every one under way has its answer, or after STOP_WAIT_MS; those that start
   * meanwhile too (a 200 crossing a CANCEL is answered with a BYE).
   */
  async settled(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let late = false;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        late = true;
        resolve();
      }, STOP_WAIT_MS);
    });
    while (this.#open.size > 0 && !late) await Promise.race([Promise.allSettled([...this.#open]), waited]);
    clearTimeout(timer);
  }
}
