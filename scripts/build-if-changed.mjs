#!/usr/bin/env node
/**
 * The build step of `npm start` (and `npm run migrate`): builds the server
 * (tsc) and the dashboard (vite) only when their inputs changed since the
 * last successful build of each, so a restart with nothing changed takes
 * seconds instead of a full build.
 *
 * Each target keeps a stamp file in dist/ whose modification time is the
 * moment its last successful build STARTED; the target is up to date when its
 * outputs exist and every input is older than that stamp. Inputs:
 *  - server: everything under src/ (directories too, so a deleted or renamed
 *    file counts), tsconfig*.json, package-lock.json;
 *  - dashboard: everything under web/, package-lock.json, and the files
 *    outside web/ that the dashboard imports (src/platform/permissions.ts…),
 *    followed through their own relative imports.
 * A file edited while a build runs is newer than that build's stamp, so the
 * next start builds again; a failed or interrupted build leaves no stamp.
 * `npm run build` always builds both (and leaves the stamps alone: the next
 * start builds once more). `--force` builds both whatever the stamps say.
 *
 * Plain Node, no dependency: run as `node scripts/build-if-changed.mjs [--force]`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const at = (...p) => path.join(root, ...p);
const rel = (file) => path.relative(root, file) || ".";
const force = process.argv.includes("--force");
const require = createRequire(import.meta.url);

/** The JS file of a dependency's command (run with this Node: no shell, no .cmd shims). */
function binOf(pkg, name) {
  const manifest = require.resolve(`${pkg}/package.json`);
  const { bin } = JSON.parse(readFileSync(manifest, "utf8"));
  return path.join(path.dirname(manifest), typeof bin === "string" ? bin : bin[name]);
}

const SKIP_DIRS = new Set(["node_modules", "dist", ".git"]);

/** Every file and directory under `dir` (itself included), skipping build outputs and dependencies. */
function* walk(dir) {
  yield dir;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) yield* walk(path.join(dir, entry.name));
    } else yield path.join(dir, entry.name);
  }
}

/** The most recently modified of these paths (directories are walked). */
function newest(paths) {
  let best = { file: null, mtimeMs: -Infinity };
  for (const p of paths) {
    if (!existsSync(p)) continue;
    for (const file of statSync(p).isDirectory() ? walk(p) : [p]) {
      const { mtimeMs } = statSync(file);
      if (mtimeMs > best.mtimeMs) best = { file, mtimeMs };
    }
  }
  return best;
}

const IMPORT = /\b(?:import|export)\b[^'"`;]*?\bfrom\s*["']([^"']+)["']|\bimport\s*\(?\s*["']([^"']+)["']/g;

/** Files outside `dir` that its sources import by relative path, and what those import in turn. */
function importedFrom(dir) {
  const seen = new Set();
  const outside = new Set();
  const queue = [...walk(dir)].filter((f) => /\.(?:[cm]?[jt]sx?)$/.test(f));
  const resolve = (from, spec) => {
    const base = path.resolve(path.dirname(from), spec);
    const stem = base.replace(/\.[cm]?js$/, "");
    const candidates = [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.js`, path.join(base, "index.ts")];
    return candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? null;
  };
  while (queue.length > 0) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of readFileSync(file, "utf8").matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (!spec?.startsWith(".")) continue;
      const target = resolve(file, spec);
      if (!target || seen.has(target)) continue;
      if (!target.startsWith(dir + path.sep)) outside.add(target);
      queue.push(target);
    }
  }
  return [...outside];
}

const targets = [
  {
    name: "server",
    stamp: at("dist", ".build-stamp-server"),
    outputs: [at("dist", "cli.js")],
    inputs: () => [
      at("src"),
      ...readdirSync(root)
        .filter((f) => /^tsconfig.*\.json$/.test(f))
        .map((f) => at(f)),
      at("package-lock.json"),
    ],
    command: () => [binOf("typescript", "tsc"), "-p", "tsconfig.build.json"],
  },
  {
    name: "dashboard",
    stamp: at("dist", ".build-stamp-web"),
    outputs: [at("dist", "web", "index.html")],
    inputs: () => [at("web"), at("package-lock.json"), ...importedFrom(at("web"))],
    command: () => [binOf("vite", "vite"), "build", "--config", "web/vite.config.ts"],
  },
];

for (const t of targets) {
  const label = `build-if-changed: ${t.name}`;
  let reason = force ? "--force" : null;
  if (!reason) {
    const missing = t.outputs.find((o) => !existsSync(o));
    if (missing) reason = `${rel(missing)} is missing`;
  }
  if (!reason && !existsSync(t.stamp)) reason = "no record of a previous build";
  if (!reason) {
    const stampMs = statSync(t.stamp).mtimeMs;
    const latest = newest(t.inputs());
    if (latest.mtimeMs >= stampMs)
      reason = statSync(latest.file).isDirectory()
        ? `a file was added, removed or renamed in ${rel(latest.file)}/`
        : `${rel(latest.file)} changed`;
  }
  if (!reason) {
    console.log(`${label} is up to date, not rebuilt`);
    continue;
  }
  console.log(`${label}: building (${reason})`);
  rmSync(t.stamp, { force: true });
  const started = new Date();
  const [script, ...args] = t.command();
  const run = spawnSync(process.execPath, [script, ...args], { cwd: root, stdio: "inherit" });
  if (run.status !== 0) {
    const why = run.error ? run.error.message : run.signal ? `killed by ${run.signal}` : `exit ${run.status}`;
    console.error(`${label}: build failed (${why})`);
    process.exit(run.status || 1);
  }
  mkdirSync(path.dirname(t.stamp), { recursive: true });
  writeFileSync(t.stamp, `${started.toISOString()}\n`);
  // Dated at the start: a file saved while the build ran counts as changed next time.
  utimesSync(t.stamp, started, started);
}
