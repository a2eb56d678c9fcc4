/** What a benchmark scenario is and what one run of it measured (shared by the load generators). */
import type { Api } from "./targets.js";

export interface Scenario {
  id: string;
  label: string;
  stream: boolean;
  connections: number;
  api?: Api;
  /** Tollgate only, with the response cache on: `hit` repeats one request; `miss` makes every request new. */
  cache?: "hit" | "miss";
  /** Back-to-back requests from one connection, timing each response's first body byte (not autocannon). */
  firstByte?: boolean;
}

export interface Measurement {
  rps: number;
  p50: number;
  p99: number;
  bad: number;
  /** CPU time of the target process per 2xx response, in µs. */
  cpuUs: number;
  /** `s1`: time from sending a request to the first byte of its body, ms. */
  firstByteP50?: number;
  firstByteP99?: number;
  /** RSS of the target process at the end of the run, MiB (set by the driver). */
  rssMiB?: number;
}
