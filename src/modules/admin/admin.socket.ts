/**
 * The local control channel of a server on the embedded database: while it
 * runs it holds the data dir, so `tollgate credits grant` cannot open the
 * database and asks the server instead. The channel is HTTP over a Unix
 * socket at `<data dir>/run/control.sock`; the `run` directory is 0700 and the
 * socket 0600, so only the account that runs the server (or root) can reach
 * it. Nothing listens on the network. One request: `POST /credits/grant`.
 */
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import path from "node:path";
import { z } from "zod";
import { type ApiErrorCode, ERROR_CATALOGUE } from "../../platform/error-catalogue.js";
import { DataDirLockedError } from "../../platform/db/data-dir-lock.js";
import { AppError } from "../../platform/errors.js";

const controlSocketPath = (dataDir: string) => path.join(dataDir, "run", "control.sock");

interface GrantInput {
  orgSlug: string;
  usd: string;
  note: string;
  idempotencyKey?: string;
}

interface GrantOutcome {
  orgSlug: string;
  entryId: string;
  duplicate: boolean;
  amountMicroUsd: bigint;
  balanceMicroUsd: bigint;
}

const grantRequest = z.strictObject({
  orgSlug: z.string().min(1).max(64),
  usd: z.string().min(1).max(40),
  note: z.string().max(2000),
  idempotencyKey: z.string().min(1).max(200).optional(),
});

const grantAnswer = z.union([
  z.object({
    orgSlug: z.string(),
    entryId: z.string(),
    duplicate: z.boolean(),
    amountMicroUsd: z.string(),
    balanceMicroUsd: z.string(),
  }),
  z.object({ error: z.object({ code: z.string(), message: z.string() }) }),
]);

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      body += c;
      if (body.length > 16_384) req.destroy(new Error("body too large"));
    });
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

/** Listens on the data dir's control socket; resolves with its close function. */
export async function startControlSocket(opts: {
  dataDir: string;
  grant(input: GrantInput): Promise<GrantOutcome>;
  onError(err: unknown): void;
}): Promise<() => Promise<void>> {
  const file = controlSocketPath(opts.dataDir);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  chmodSync(path.dirname(file), 0o700);
  // A socket file left by a crashed server: this process holds the data dir now.
  rmSync(file, { force: true });
  const server = createServer((req, res) => void handle(req, res));

  async function handle(req: IncomingMessage, res: ServerResponse) {
    if (req.method !== "POST" || req.url !== "/credits/grant")
      return send(res, 404, { error: { code: "ROUTE_NOT_FOUND", message: "Unknown control request." } });
    try {
      const input = grantRequest.safeParse(JSON.parse(await readBody(req)));
      if (!input.success)
        return send(res, 400, { error: { code: "VALIDATION_ERROR", message: input.error.issues[0]!.message } });
      const out = await opts.grant(input.data);
      send(res, 200, {
        ...out,
        amountMicroUsd: out.amountMicroUsd.toString(),
        balanceMicroUsd: out.balanceMicroUsd.toString(),
      });
    } catch (err) {
      if (err instanceof AppError) return send(res, 400, { error: { code: err.code, message: err.message } });
      opts.onError(err);
      send(res, 500, { error: { code: "INTERNAL_ERROR", message: "The server failed to grant; see its log." } });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(file, () => resolve());
  });
  chmodSync(file, 0o600);
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      rmSync(file, { force: true });
    });
}

/** The grant, asked of the running server; a refusal comes back as an `AppError`. */
export function grantThroughServer(dataDir: string, input: GrantInput): Promise<GrantOutcome> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        socketPath: controlSocketPath(dataDir),
        method: "POST",
        path: "/credits/grant",
        headers: { "content-type": "application/json" },
      },
      (res) => {
        readBody(res).then((text) => {
          const answer = grantAnswer.safeParse(JSON.parse(text));
          if (!answer.success) return reject(new Error("The running server gave an unexpected answer."));
          if ("error" in answer.data) return reject(refusal(answer.data.error));
          resolve({
            ...answer.data,
            amountMicroUsd: BigInt(answer.data.amountMicroUsd),
            balanceMicroUsd: BigInt(answer.data.balanceMicroUsd),
          });
        }, reject);
      },
    );
    req.on("error", (err: NodeJS.ErrnoException) =>
      // The data dir is locked but no server answers here: say what the lock says.
      reject(err.code === "ENOENT" || err.code === "ECONNREFUSED" ? new DataDirLockedError(dataDir) : err),
    );
    req.end(JSON.stringify(input));
  });
}

/** The running server's refusal (unknown org, bad amount, missing note…) as the error the CLI prints. */
function refusal(e: { code: string; message: string }): AppError {
  const code = (e.code in ERROR_CATALOGUE ? e.code : "BAD_REQUEST") as ApiErrorCode;
  return new AppError(code, e.message);
}
