-- The usage components beyond input/cached/output tokens (cache writes, audio, images, reasoning,
-- web searches), so `tollgate billing verify` can re-price every logged request. Added on the
-- partitioned parent, the column reaches every partition; nullable without a default, so no
-- existing row is rewritten.
ALTER TABLE "request_logs" ADD COLUMN "usage_details" jsonb;
