import type { ConfirmRequest, IoHost, ToilEvent } from '@toil/core';
import type { BatchSystemPlugin, Prestarted } from '@toil/batch-system';

// Workers a batch system's plugin started for `toil run` before its workflow module loaded
// (Slurm's warm workers), for the `Toil` of the run to adopt.

const OFFER = Symbol.for('@toil/workflow/batch-prestart-offer');

/**
 * A host that holds the events of workers started before the run's own host exists, and
 * passes them (and every later one) to that host once it is attached. @internal
 */
export class DeferredHost implements IoHost {
  private target: IoHost | undefined;
  private readonly held: ToilEvent[] = [];

  emit(event: ToilEvent): void {
    if (this.target) this.target.emit(event);
    else this.held.push(event);
  }

  async confirm(request: ConfirmRequest): Promise<boolean> {
    return this.target ? this.target.confirm(request) : request.defaultAnswer;
  }

  /** From now on events go to `host`, the held ones first. */
  attach(host: IoHost): void {
    this.target = host;
    for (const event of this.held.splice(0)) host.emit(event);
  }
}

/** What a plugin's `prestart` started ahead of the run's `Toil`. @internal */
export interface BatchPrestartOffer {
  plugin: BatchSystemPlugin;
  /** The prestart context it was started for, as `prestartKey` of `toil.ts` writes it. */
  key: string;
  /** The id the adopting workflow takes. */
  workflowId: string;
  prestarted: Prestarted;
  host: DeferredHost;
}

type OfferHolder = Record<symbol, BatchPrestartOffer | undefined>;

/** A signal before the offer was taken: discard it, then let the signal do what it does. */
function onSignal(signal: NodeJS.Signals): void {
  void discardBatchPrestartOffer().finally(() => process.kill(process.pid, signal));
}

/**
 * Leaves `offer` for the `Toil` of this process to take (see {@link takeBatchPrestartOffer});
 * until then SIGINT and SIGTERM discard it before they end the process. @internal
 */
export function offerBatchPrestart(offer: BatchPrestartOffer): void {
  void discardBatchPrestartOffer();
  (globalThis as OfferHolder)[OFFER] = offer;
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

/** Takes what {@link offerBatchPrestart} left, if anything (once). @internal */
export function takeBatchPrestartOffer(): BatchPrestartOffer | undefined {
  const holder = globalThis as OfferHolder;
  const offer = holder[OFFER];
  holder[OFFER] = undefined;
  if (offer) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return offer;
}

/** Stops what {@link offerBatchPrestart} left and nothing took (Slurm: cancels the workers). @internal */
export async function discardBatchPrestartOffer(): Promise<void> {
  await takeBatchPrestartOffer()
    ?.prestarted.discard()
    .catch(() => undefined);
}
