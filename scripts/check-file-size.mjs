// Source files stay focused: none over 400 lines (tests and generated files aside).
// Run by `npm run lint`; prints each file over the limit and exits 1.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const LIMIT = 400;
const roots = ["src", "web/src", "scripts", "bin"];
const over = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.(ts|tsx|mjs|js)$/.test(name) && !/\.test\.tsx?$/.test(name)) {
      const lines = readFileSync(path, "utf8").split("\n").length - 1;
      if (lines > LIMIT) over.push(`${path}: ${lines} lines`);
    }
  }
}
for (const root of roots) walk(root);
if (over.length) {
  console.error(`Files over ${LIMIT} lines (split them by responsibility):\n  ${over.join("\n  ")}`);
  process.exit(1);
}
