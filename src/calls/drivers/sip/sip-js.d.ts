// The `sip` package (plain JS, RFC 3261 messages, transports and transactions): the part Hookline uses.
declare module 'sip' {
  export interface Uri { schema: string; user?: string; host: string; port?: number; params: Record<string, string | null | undefined>; headers: Record<string, string> }
  export interface NameAddr { name?: string; uri: string; params: Record<string, string | null | undefined> }
  export interface Via { host?: string; port?: number; protocol?: string; params: Record<string, string | null | undefined> }
  export interface Message {
    method?: string;
    uri?: string;
    status?: number;
    reason?: string;
    version?: string;
    headers: {
      via?: Via[];
      to?: NameAddr;
      from?: NameAddr;
      'call-id'?: string;
      cseq?: { method: string; seq: number };
      contact?: NameAddr[] | string;
      'record-route'?: NameAddr[];
      route?: NameAddr[];
      'content-type'?: string;
      'proxy-authenticate'?: unknown;
      'www-authenticate'?: unknown;
      [name: string]: unknown;
    };
    content?: string;
  }
  export interface Target { protocol: string; address: string; port: number; local?: unknown }
  export interface Flow { send(m: Message): void; release(): void; protocol: string }
  export interface Transport {
    open(target: Target, error?: (err: unknown) => void): Flow;
    get(target: Target, error?: (err: unknown) => void): Flow | undefined;
    destroy(): void;
  }
  export interface ClientTransaction { message(m: Message, remote?: Target): void; shutdown(): void }
  export interface ServerTransaction { send(m: Message): void; message?(m: Message, remote?: Target): void }
  export interface TransactionLayer {
    createClientTransaction(flow: Flow, rq: Message, onResponse: (rs: Message) => void): ClientTransaction;
    createServerTransaction(rq: Message, flow: Flow | undefined): ServerTransaction;
    getServer(m: Message): ServerTransaction | undefined;
    getClient(m: Message): ClientTransaction | undefined;
    destroy(): void;
  }
  export interface TransportOptions { address: string; port: number; udp?: boolean; tcp?: boolean; logger?: { error?(e: unknown): void } }
  export function makeTransport(options: TransportOptions, onMessage: (m: Message, remote: Target) => void): Transport;
  export function makeTransactionLayer(options: TransportOptions, open: (target: Target, error?: (err: unknown) => void) => Flow): TransactionLayer;
  export function makeResponse(rq: Message, status: number, reason?: string, extension?: { headers?: Record<string, unknown>; content?: string }): Message;
  export function parseUri(s: string): Uri;
  export function stringifyUri(u: Uri): string;
  export function generateBranch(): string;
  const sip: {
    makeTransport: typeof makeTransport;
    makeTransactionLayer: typeof makeTransactionLayer;
    makeResponse: typeof makeResponse;
    parseUri: typeof parseUri;
    stringifyUri: typeof stringifyUri;
    generateBranch: typeof generateBranch;
  };
  export default sip;
}

declare module 'sip/digest.js' {
  import type { Message } from 'sip';
  /** Adds the Authorization / Proxy-Authorization header answering the challenge in `rs`. */
  export function signRequest(ctx: object, rq: Message, rs: Message, creds: { user: string; password: string }): Message;
  const digest: { signRequest: typeof signRequest };
  export default digest;
}
