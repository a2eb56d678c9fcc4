/**
 * The Lua scripts of the shared credit store (redis-store.ts), one per step,
 * each atomic in Redis however many replicas call it at once. Amounts are
 * integer micro-USD strings; Lua compares them as doubles, exact up to 2^53.
 */
import type { Redis } from "ioredis";

/**
 * KEYS: acct, holds, holdsAt, settled, cap1…capN (spend caps: project, key, end user). ARGV: amount, requestId,
 * member, nowMs, checkCredits ("1"/"0"), limit1…limitN. Returns {1} admitted; {-1} account not loaded;
 * {-2, i} cap i not loaded; {2, i, spent, reserved} cap i would be passed; {0, credits, usage, reserved}
 * too few credits. The hold records the caps it counts against (`amount|cap1,cap2`).
 */
const RESERVE = `
if redis.call('EXISTS', KEYS[4]) == 1 or redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return {1} end
local a = redis.call('HMGET', KEYS[1], 'credits', 'usage', 'reserved')
if not a[1] then return {-1} end
local amount = tonumber(ARGV[1])
local n = #KEYS - 4
for i = 1, n do
  local p = redis.call('HMGET', KEYS[4 + i], 'spent', 'reserved')
  if not p[1] then return {-2, i} end
  local spent = tonumber(p[1]) + (tonumber(p[2]) or 0)
  if amount > 0 and spent + amount > tonumber(ARGV[5 + i]) then return {2, i, tostring(p[1]), tostring(p[2] or '0')} end
end
local reserved = tonumber(a[3]) or 0
local avail = tonumber(a[1]) - (tonumber(a[2]) or 0) - reserved
if ARGV[5] == '1' and amount > 0 and avail < amount then return {0, a[1], a[2] or '0', a[3] or '0'} end
redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[1])
local caps = {}
for i = 1, n do
  redis.call('HINCRBY', KEYS[4 + i], 'reserved', ARGV[1])
  caps[i] = KEYS[4 + i]
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1] .. '|' .. table.concat(caps, ','))
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
return {1}
`;

/** Ends a hold (shared by settle and release). Leaves amountStr/amount and caps (the hold's cap keys) set. */
const END_HOLD = `
local h = redis.call('HGET', KEYS[2], ARGV[1])
local amountStr = '0'
local caps = {}
if h then
  local sep = string.find(h, '|', 1, true)
  amountStr = string.sub(h, 1, sep - 1)
  for ck in string.gmatch(string.sub(h, sep + 1), '[^,]+') do caps[#caps + 1] = ck end
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[3])
  if amountStr ~= '0' then
    redis.call('HINCRBY', KEYS[1], 'reserved', '-' .. amountStr)
    for _, ck in ipairs(caps) do redis.call('HINCRBY', ck, 'reserved', '-' .. amountStr) end
  end
end
local amount = tonumber(amountStr)
`;

/**
 * KEYS: acct, holds, holdsAt, settled, queue, queueBytes. ARGV: requestId, charge, member, entry, ttlSeconds.
 * Returns "charged|credits|usage|queueBytes" (queueBytes: the queue's size after this entry, in bytes).
 * The charge is the actual usage, never capped by the hold: an overrun (usage beyond the hold) is charged in full,
 * to the balance and to every spend cap the hold counted against.
 * The entry (the debit, and the request's log row when it was charged) is queued in the same step as the charge.
 */
const SETTLE = `
local done = redis.call('GET', KEYS[4])
if done then return done .. '|' .. (redis.call('GET', KEYS[6]) or '0') end
${END_HOLD}
local chargedStr = ARGV[2]
local charge = tonumber(ARGV[2])
if charge <= 0 then chargedStr = '0' end
redis.call('HINCRBY', KEYS[1], 'usage', chargedStr)
for _, ck in ipairs(caps) do
  if redis.call('EXISTS', ck) == 1 then redis.call('HINCRBY', ck, 'spent', chargedStr) end
end
local item = chargedStr .. '|' .. ARGV[4]
redis.call('RPUSH', KEYS[5], item)
local bytes = redis.call('INCRBY', KEYS[6], #item)
local a = redis.call('HMGET', KEYS[1], 'credits', 'usage')
local res = chargedStr .. '|' .. (a[1] or '0') .. '|' .. (a[2] or '0')
redis.call('SET', KEYS[4], res, 'EX', ARGV[5])
return res .. '|' .. bytes
`;

/** KEYS: acct, holds, holdsAt. ARGV: requestId, (unused), member. */
const RELEASE = `
${END_HOLD}
if not h then redis.call('ZREM', KEYS[3], ARGV[3]) return 0 end
return 1
`;

/** KEYS: acct. ARGV: credits, seq, usage. Newer-or-equal credit version wins; usage only ever rises. */
const LOAD = `
local s = redis.call('HGET', KEYS[1], 'seq')
if (not s) or tonumber(ARGV[2]) >= tonumber(s) then redis.call('HSET', KEYS[1], 'credits', ARGV[1], 'seq', ARGV[2]) end
local u = redis.call('HGET', KEYS[1], 'usage')
if (not u) or tonumber(ARGV[3]) > tonumber(u) then redis.call('HSET', KEYS[1], 'usage', ARGV[3]) end
redis.call('HSETNX', KEYS[1], 'reserved', '0')
return 1
`;

/** KEYS: cap. ARGV: flushedSpent, ttlMs. A spend cap's counter: spent only ever rises; kept ttlMs. */
const LOAD_CAP = `
local u = redis.call('HGET', KEYS[1], 'spent')
if (not u) or tonumber(ARGV[1]) > tonumber(u) then redis.call('HSET', KEYS[1], 'spent', ARGV[1]) end
redis.call('HSETNX', KEYS[1], 'reserved', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/** KEYS: queue, batchKey, batches. ARGV: max, nowMs, batchId. Moves up to max entries into a leased batch. */
const CLAIM = `
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items == 0 then return items end
redis.call('LTRIM', KEYS[1], #items, -1)
redis.call('RPUSH', KEYS[2], unpack(items))
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
return items
`;

/** KEYS: batches. ARGV: cutoffMs, nowMs. Takes over the oldest batch whose lease expired. */
const RECLAIM = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #ids == 0 then return false end
redis.call('ZADD', KEYS[1], ARGV[2], ids[1])
return ids[1]
`;

/** KEYS: batchKey, batches, queueBytes. ARGV: batchId, bytes. A written batch: deleted, and its bytes off the queue's size (once). */
const FINISH = `
if redis.call('DEL', KEYS[1]) == 1 and tonumber(redis.call('DECRBY', KEYS[3], ARGV[2])) < 0 then redis.call('SET', KEYS[3], '0') end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`;

/** The scripts as commands on the client (ioredis `defineCommand`: EVALSHA, loaded again after a Redis restart). */
export type Scripted = {
  /** Called with the number of keys first (the caps vary): numKeys, acct, holds, holdsAt, settled, caps…, ARGV…. */
  tgReserve(numKeys: number, ...args: Array<string | number>): Promise<Array<number | string>>;
  tgSettle(
    acct: string,
    holds: string,
    holdsAt: string,
    settled: string,
    queue: string,
    queueBytes: string,
    req: string,
    charge: string,
    member: string,
    entry: string,
    ttl: number,
  ): Promise<string>;
  tgRelease(acct: string, holds: string, holdsAt: string, req: string, unused: string, member: string): Promise<number>;
  tgLoad(acct: string, credits: string, seq: string, usage: string): Promise<number>;
  tgLoadCap(cap: string, spent: string, ttlMs: number): Promise<number>;
  tgClaim(
    queue: string,
    batchKey: string,
    batches: string,
    max: number,
    now: number,
    batchId: string,
  ): Promise<string[]>;
  tgReclaim(batches: string, cutoff: number, now: number): Promise<string | null>;
  tgFinish(batchKey: string, batches: string, queueBytes: string, batchId: string, bytes: number): Promise<number>;
};

export function defineScripts(client: Redis): Scripted {
  const define = (name: string, keys: number, lua: string) => {
    if (!(client as unknown as Record<string, unknown>)[name]) client.defineCommand(name, { numberOfKeys: keys, lua });
  };
  // The number of keys comes first in each call (a reservation counts against a varying number of caps).
  if (!(client as unknown as Record<string, unknown>).tgReserve) client.defineCommand("tgReserve", { lua: RESERVE });
  define("tgSettle", 6, SETTLE);
  define("tgRelease", 3, RELEASE);
  define("tgLoad", 1, LOAD);
  define("tgLoadCap", 1, LOAD_CAP);
  define("tgClaim", 3, CLAIM);
  define("tgReclaim", 1, RECLAIM);
  define("tgFinish", 3, FINISH);
  return client as unknown as Scripted;
}
