/**
 * The dashboard build: a React SPA whose output (`dist/web`) the Tollgate server
 * serves itself. In development (`npx vite web`), API calls go to a running
 * server (TOLLGATE_URL, default http://127.0.0.1:3000) through the proxy, so
 * cookies and the CSRF Origin check behave as in production.
 */
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const target = process.env.TOLLGATE_URL ?? "http://127.0.0.1:3000";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL("../dist/web", import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    proxy: {
      "/api": { target, changeOrigin: false },
      "/v1": { target, changeOrigin: false },
    },
  },
});
