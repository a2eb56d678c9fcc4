#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm run build`).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error("tollgate: dist/ is missing — run `npm run build` first (npm start does it for you).");
  process.exit(1);
}
await import(entry.href);
