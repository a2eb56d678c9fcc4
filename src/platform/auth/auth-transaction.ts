/**
 * The auth library's database transactions, made visible to Tollgate code the
 * library calls while one is open (a plugin's callback, a database hook).
 *
 * The library runs its multi-step writes (a SCIM provisioning request, a
 * sign-up) in one transaction of its Drizzle adapter. Tollgate code called
 * from inside must write through that same transaction: its rows commit or
 * roll back with the library's, and on PGlite — one connection — a query on
 * the main handle would wait for the open transaction forever.
 *
 * `trackAuthTransactions(db)` is the handle given to the adapter: each
 * transaction it starts is recorded for the async work of its callback.
 * `currentAuthTransaction()` returns it while it is open, and undefined
 * anywhere else, including in async work that outlives the transaction.
 * `joinAuthTransactions(db)` is the handle for code the library may call
 * inside one (the sign-up gate, the SSO hooks): it is `db`, except that
 * inside such a transaction every query runs in it.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Db, Tx } from "../db/db.js";

interface Open {
  tx: Tx;
  open: boolean;
}

const current = new AsyncLocalStorage<Open>();

/** `db` whose `transaction()` records the transaction for `currentAuthTransaction()`; everything else is db's. */
export function trackAuthTransactions(db: Db): Db {
  const transaction: Db["transaction"] = (fn, config) =>
    db.transaction(async (tx) => {
      const entry: Open = { tx, open: true };
      try {
        return await current.run(entry, () => fn(tx));
      } finally {
        entry.open = false;
      }
    }, config);
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "transaction") return transaction;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The auth library's transaction this code runs inside of, if any. */
export function currentAuthTransaction(): Tx | undefined {
  const entry = current.getStore();
  return entry?.open ? entry.tx : undefined;
}

/** `db`, except inside an auth library transaction, where every query (and `transaction()`, a savepoint) runs in it. */
export function joinAuthTransactions(db: Db): Db {
  return new Proxy(db, {
    get(target, prop) {
      const handle: object = currentAuthTransaction() ?? target;
      const value = Reflect.get(handle, prop, handle);
      return typeof value === "function" ? value.bind(handle) : value;
    },
  });
}
