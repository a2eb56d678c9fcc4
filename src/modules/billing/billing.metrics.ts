/**
 * Metering's own metrics: reservations by outcome, overruns, holds in flight
 * and the depth of the queues of settled charges. Counted on every request,
 * so each series is resolved once (FastCounter), not by label hashing per call.
 */
import { Gauge, type Registry } from "prom-client";
import { FastCounter } from "../../platform/metric-series.js";

export function createMeteringMetrics(
  registry: Registry | undefined,
  sources: { localQueued(): number; sharedQueued?: () => Promise<number> },
) {
  const registers = registry ? [registry] : [];
  const reservations = new FastCounter(
    "tollgate_billing_reservations_total",
    "Credit reservations on this replica by outcome (admitted, free, insufficient_credits, spend_cap_reached, unavailable)",
    ["outcome"],
    registry,
  );
  const state = { holdsInFlight: 0 };
  new Gauge({
    name: "tollgate_billing_holds_in_flight",
    help: "Priced requests on this replica holding credits (reserved, not yet settled)",
    registers,
    collect() {
      this.set(state.holdsInFlight);
    },
  });
  new Gauge({
    name: "tollgate_billing_debit_queue_depth",
    help: "Settled charges waiting for the ledger: queue=local (this replica's writer) or shared (the Redis queue of every replica)",
    labelNames: ["queue"],
    registers,
    async collect() {
      this.set({ queue: "local" }, sources.localQueued());
      if (sources.sharedQueued) this.set({ queue: "shared" }, await sources.sharedQueued().catch(() => -1));
    },
  });
  return {
    state,
    reservations,
    admitted: reservations.series(["admitted"]),
    free: reservations.series(["free"]),
    overruns: new FastCounter(
      "tollgate_billing_overruns_total",
      "Requests whose actual usage cost more than their credit hold (charged in full; the balance may dip below zero by the difference)",
      [],
      registry,
    ).series([]),
  };
}
