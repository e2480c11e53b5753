import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { hashKey } from './api/auth.ts';
import { buildApi, type Api, type ApiDeps } from './api/server.ts';
import { Engine } from './calls/engine.ts';
import { CallService } from './calls/service.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Config } from './config.ts';
import { guardedConnect, isAddressRefused } from './delivery/address-guard.ts';
import { Dispatcher } from './delivery/dispatcher.ts';
import { DeliveryMetrics } from './delivery/metrics.ts';
import { Sender } from './delivery/sender.ts';
import { deliveryRoutes } from './api/routes/deliveries.ts';
import { endpointRoutes } from './api/routes/endpoints.ts';
import { testDeliveryRoute, type TestableKinds } from './api/routes/resources.ts';
import { newId, randomToken } from './ids.ts';
import { perCallFormatRoutes } from './api/routes/per-call-formats.ts';
import { accountFormatRoutes } from './api/routes/account-formats.ts';
import { customIntegrationSpec, propertySpec, subscriptionSpec, trackingWebhookSpec } from './targets/account-formats.ts';
import { callInputChecker } from './targets/call-input.ts';
import { callbackProfileSpec } from './targets/callback-profiles.ts';
import { endpointSpec } from './targets/endpoints.ts';
import { TestDeliveries } from './targets/test-delivery.ts';
import { Resources } from './targets/resources.ts';
import { webhookSpec } from './targets/webhooks.ts';
import { TargetFanOut } from './targets/fanout.ts';
import { TargetRegistry } from './targets/registry.ts';
import { Drivers } from './calls/drivers/driver.ts';
import { simulatorDriver } from './calls/drivers/simulator.ts';
import { ingestionDriver } from './calls/drivers/ingestion.ts';
import { SipDriver } from './calls/drivers/sip/driver.ts';
import { claimableTimer, type CallWrite, type Store } from './store/contract.ts';
import type { EndpointInput } from './targets/endpoints.ts';
import type { EndpointDoc, SecretEntry } from './targets/model.ts';
import { PostgresStore } from './store/postgres/store.ts';
import { SqliteStore, type QueueRemote } from './store/sqlite/store.ts';
import { resultNews } from './store/sqlite/packed-results.ts';
import { SplitWorker } from './split.ts';
import { registerStoreMetrics } from './store/metrics.ts';
import { registerThreadStats } from './thread-stats.ts';
import { Retention } from './retention.ts';
import { EventBus, callEventItems, resultItem, resultItems, tapResults } from './events.ts';

export interface Overrides {
  clock?: Clock;
  log?: Logger;
  store?: Store;
  /** the delivery thread of split mode (split-worker.ts): runs the loops, listens nowhere */
  embedded?: boolean;
}

export interface Parts {
  registry: TargetRegistry;
  dispatcher: Dispatcher;
  sender: Sender;
  endpoints: Resources<EndpointDoc, EndpointInput & { secrets?: SecretEntry[] }>;
  retention: Retention;
}

export interface Hookline {
  readonly config: Config;
  readonly app: Api;
  readonly store: Store;
  readonly calls: CallService;
  readonly engine: Engine;
  readonly parts: Parts;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Registry;
  /** the live feed of GET /v1/stream */
  readonly events: EventBus;
  /** the bootstrap key, when this start generated it (printed once) */
  readonly generatedApiKey: string | undefined;
  /** the base URL once listening */
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function openStore(config: Config, remote?: QueueRemote, log?: Logger): Promise<Store> {
  if (config.databaseUrl) {
    return new PostgresStore({ connectionString: config.databaseUrl, onBackgroundError: (err, what) => log?.error({ err }, `store: ${what} failed`) });
  }
  return new SqliteStore(config.dataDir, { remote });
}

/** Split mode (split.ts): SQLite in a file, one process doing everything, two threads asked for. */
function splits(config: Config, o: Overrides): boolean {
  // A SIP call's dialog lives in the process that placed it, which must also play its timers.
  return config.threads > 1 && !config.sip && !o.store && !o.embedded && !config.databaseUrl && config.dataDir !== ':memory:' && config.role === 'all';
}

/** Answers a QueueRemote now whose worker is attached later (it may start only once the schema exists). */
function lateRemote(): QueueRemote & { attach(w: SplitWorker): void } {
  let w: SplitWorker | undefined;
  const get = (): SplitWorker => {
    if (!w) throw new Error('the delivery thread is not started yet');
    return w;
  };
  return {
    attach: (x) => (w = x),
    getDelivery: (...a) => get().getDelivery(...a),
    listDeliveries: (...a) => get().listDeliveries(...a),
    retryDelivery: (...a) => get().retryDelivery(...a),
    stats: (...a) => get().stats(...a),
  };
}

/**
 * The composition root: everything Hookline is made of is built here from one Config, and every
 * dependency can be swapped (tests pass a fake clock, a silent logger, a store of their own).
 */
export async function createHookline(config: Config, o: Overrides = {}): Promise<Hookline> {
  const clock = o.clock ?? systemClock;
  const log = o.log ?? pino({ level: config.logLevel, base: { service: 'hookline' } });
  const split = splits(config, o);
  const remote = split ? lateRemote() : undefined;
  const store = o.store ?? (await openStore(config, remote, log));
  await store.migrate();

  let generatedApiKey: string | undefined;
  let accountId = await store.getBootstrapAccount();
  if (config.apiKey) {
    accountId ??= newId('acct', clock.now());
    await store.setBootstrapKey(accountId, hashKey(config.apiKey), clock.now());
  } else if (!accountId && config.role !== 'worker') {
    // A worker serves no API: the key is the first API process's to make and print (a worker
    // that made it would print it in its own log, where nobody looks for it).
    // Only if no other process made one meanwhile (PostgreSQL: several starting together).
    const key = `hk_${randomToken(32)}`;
    if (await store.setBootstrapKey(newId('acct', clock.now()), hashKey(key), clock.now(), true)) generatedApiKey = key;
    else log.info('the bootstrap API key was made by another process starting at the same time (see its output)');
  }

  await store.recoverLeases(clock.now());
  // The delivery thread opens the database once the schema and the bootstrap key are there.
  const events = new EventBus();
  // Split mode: the delivery thread's results are written here, and published to the stream
  // from here once committed (one message per batch between the threads, not two).
  const worker = remote
    ? await SplitWorker.start(config, log, async (r, held, now) => {
      await (store as SqliteStore).writeResultsFor(r, held, now);
      events.publish(resultNews(r).map(resultItem));
    })
    : undefined;
  if (worker) {
    remote!.attach(worker);
    log.info('split mode: the dispatcher runs on a thread of its own');
  }
  // This process runs the loops unless it is only the API, or another thread runs them.
  const loops = config.role !== 'api' && !worker;
  // Split mode keeps the call engine on the API thread: its writes then share the API thread's
  // group commits on the one connection that writes (two writing connections took turns on the
  // lock, and each commit of one emptied the other's page cache); the delivery thread only sends.
  const runsEngine = worker !== undefined || (loops && !o.embedded);

  const owner = `${hostname()}:${process.pid}:${randomToken(6)}`;
  const metrics = new Registry();
  // The embedded thread's registry holds only its own (the dispatcher's) metrics: the main
  // thread's /metrics appends them to its own, so each name appears once.
  if (!o.embedded) {
    collectDefaultMetrics({ register: metrics });
    registerStoreMetrics(metrics, store, clock);
    registerThreadStats(metrics, worker ? { delivery: () => worker.threadStats() } : {});
  }

  // GET /v1/stream: in split mode the delivery thread's items come over its channel (split.ts).

  const resultsOnCommit = !worker && store instanceof SqliteStore;
  if (resultsOnCommit) store.onResultsCommitted = (p) => events.publish(resultNews(p).map(resultItem));
  const registry = new TargetRegistry(store, clock);
  // The delivery thread keeps its own cache of the targets: this thread's writes reach it at once.
  if (worker) registry.onInvalidate((accountId) => worker.invalidate(accountId));
  const sender = new Sender({
    connect: (ms, plain) => guardedConnect(config.allowPrivateTargets, { connectTimeoutMs: ms, plain }),
    isRefused: isAddressRefused,
  });
  const dispatcher = new Dispatcher({
    // Split mode's delivery thread publishes nothing: the API thread publishes the results it writes.
    // In one thread, SQLite tells of results once their group commit is done (a reader the stream
    // sends to the delivery must find the result there), other stores once the claim or record does.
    store: o.embedded || resultsOnCommit ? store : tapResults(store, (r) => events.publish(resultItems(r))), clock, log, registry, sender, metrics: new DeliveryMetrics(worker ? new Registry() : metrics), owner,
    leaseMs: config.leaseMs, retryScheduleMs: config.retryScheduleMs, failureWindowMs: config.failureWindowMs,
  });
  const resourceDeps = { store, clock, registry };
  const endpoints = new Resources(endpointSpec(config.allowPrivateTargets, clock), resourceDeps);
  const profiles = new Resources(callbackProfileSpec(config.allowPrivateTargets), resourceDeps);
  const webhooks = new Resources(webhookSpec(config.allowPrivateTargets), resourceDeps);
  const subscriptions = new Resources(subscriptionSpec(config.allowPrivateTargets), resourceDeps);
  const properties = new Resources(propertySpec, resourceDeps);
  const trackingWebhooks = new Resources(trackingWebhookSpec(config.allowPrivateTargets, store), resourceDeps);
  const customIntegration = new Resources(customIntegrationSpec(config.allowPrivateTargets), resourceDeps);

  // Test deliveries (every kind's `…/test` and POST /v1/test-deliveries) and the kinds they can build.
  const tests = { sender: new TestDeliveries({ store, clock, registry, sender }), kinds: new Map() as TestableKinds };

  const onCommit = (w: CallWrite): void => {
    if (w.events.length > 0) events.publish(callEventItems(w));
    // a timer leased by the write is the writing engine's to play (engine.ts)
    if (claimableTimer(w)) engine.nudgeFor(w.timer_due_at);
    if (w.deliveries.length === 0) return;
    if (worker) worker.nudge(w.deliveries);
    else dispatcher.nudge();
  };
  // `simulate` in the request → the simulator; otherwise SIP when a trunk is set (outbound and
  // click-to-call; inbound calls are simulated); otherwise the simulator with SPEC §4's defaults.
  const sip = config.sip && !o.embedded ? new SipDriver(config.sip, log) : undefined;
  const drivers = new Drivers([simulatorDriver, ingestionDriver(config.ingestIdleMs), ...(sip ? [sip] : [])],
    (input) => (sip && input.simulate === undefined && input.kind !== 'inbound' ? sip : simulatorDriver));
  const calls = new CallService({ store, clock, fanout: new TargetFanOut(registry), onCommit, drivers,
    prepare: callInputChecker(store, config.allowPrivateTargets),
  });
  sip?.start((callId, decide) => calls.report(callId, decide), () => store.liveCalls(sip.name), store.backend === 'sqlite');
  const engine = new Engine({ store, clock, calls, log, owner, leaseMs: config.leaseMs });
  const retention = new Retention({ store, clock, log, retentionMs: config.retentionMs, deadRetentionMs: config.deadRetentionMs });

  let ready = false;
  const deps: ApiDeps = {
    store, clock, calls, log, metrics, events, isReady: () => ready, serveApi: config.role !== 'worker',
    moreMetrics: worker ? () => worker.metrics() : undefined,
    plugins: [endpointRoutes(endpoints, tests), deliveryRoutes(() => (worker ? worker.nudge() : dispatcher.nudge())), perCallFormatRoutes(profiles, webhooks, tests),
      accountFormatRoutes({ subscriptions, properties, trackingWebhooks, customIntegration, tests }), testDeliveryRoute(tests),
    ],
  };
  const app = await buildApi(deps);

  const h: Hookline = {
    config, app, store, calls, engine, clock, log, metrics, events, generatedApiKey, url: '',
    parts: { registry, dispatcher, sender, endpoints, retention },
    async start() {
      // What the previous run left to a driver (the SIP driver ends its live calls) is taken over before anything runs.
      for (const d of drivers.all()) await d.restore?.();
      if (runsEngine) engine.start();
      if (loops) {
        dispatcher.start();
        retention.start();
        await store.listen?.(() => {
          engine.nudge();
          dispatcher.nudge();
        });
      }
      if (o.embedded) return;
      const address = await app.listen({ host: config.host, port: config.port });
      h.url = address.replace('[::1]', '127.0.0.1');
      ready = true;
    },
    async stop() {
      ready = false;
      // Stop taking requests first, then let the loops finish what they hold and hand back leases.
      await app.close();
      await sip?.stop();
      await worker?.stop();
      await engine.stop();
      await dispatcher.stop();
      await retention.stop();
      await sender.close();
      await store.close();
    },
  };
  return h;
}
