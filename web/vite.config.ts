import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { defineConfig, type HttpProxy, type Plugin } from "vite";

const require = createRequire(import.meta.url);

/** The API docs' scripts and styles (Swagger UI), emitted with hashed names beside the
 * app's own assets and listed in `docs.json`: the web process serves its docs pages with them,
 * so they work offline and no page loads anything from a CDN. */
function apiDocsAssets(): Plugin {
  const files: Record<string, string> = {
    swagger_js: "swagger-ui-dist/swagger-ui-bundle.js",
    swagger_preset_js: "swagger-ui-dist/swagger-ui-standalone-preset.js",
    swagger_css: "swagger-ui-dist/swagger-ui.css",
    swagger_favicon: "swagger-ui-dist/favicon-32x32.png",
  };
  return {
    name: "streampools-api-docs-assets",
    apply: "build",
    generateBundle() {
      const emitted: Record<string, string> = {};
      for (const [key, module] of Object.entries(files)) {
        const path = require.resolve(module);
        const reference = this.emitFile({
          type: "asset",
          name: path.split("/").pop(),
          source: readFileSync(path),
        });
        emitted[key] = "/" + this.getFileName(reference);
      }
      this.emitFile({
        type: "asset",
        fileName: "docs.json",
        source: JSON.stringify(emitted, null, 2) + "\n",
      });
    },
  };
}

/** `npm run dev`: the pages at the paths the web process serves them on (/c/<slug>,
 * /dashboard/..., /overlay/<slug>), as Vite only knows them by their file names. */
function pagePaths(): Plugin {
  const pages: [RegExp, string][] = [
    [/^\/c\/[^/]+\/?$/, "/viewer.html"],
    [/^\/dashboard(\/.*)?$/, "/dashboard.html"],
    [/^\/overlay\/[^/]+\/?$/, "/overlay.html"],
  ];
  return {
    name: "streampools-page-paths",
    apply: "serve",
    configureServer(server) {
      server.middlewares.use((request, _response, next) => {
        const [path = "", query] = (request.url ?? "").split("?", 2);
        const page = pages.find(([pattern]) => pattern.test(path))?.[1];
        if (page) request.url = query === undefined ? page : `${page}?${query}`;
        next();
      });
    },
  };
}

const API = "http://127.0.0.1:8000";

function asFromApi(proxy: HttpProxy.Server): void {
  proxy.on("proxyReq", (request) => {
    if (request.getHeader("origin")) request.setHeader("origin", API);
  });
  proxy.on("proxyReqWs", (request) => {
    if (request.getHeader("origin")) request.setHeader("origin", API);
  });
}

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  plugins: [apiDocsAssets(), pagePaths()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2020",
    sourcemap: true,
    rollupOptions: {
      input: {
        viewer: resolve(import.meta.dirname, "viewer.html"),
        dashboard: resolve(import.meta.dirname, "dashboard.html"),
        overlay: resolve(import.meta.dirname, "overlay.html"),
      },
    },
  },
  server: {
    host: "127.0.0.1",
    // `npm run dev` beside `make run`: the API and Socket.IO stay on the web process.
    // Requests go on as if from the web process's own origin, which is the one it allows.
    proxy: {
      "/api": { target: API, configure: asFromApi },
      "/socket.io": { target: API, ws: true, configure: asFromApi },
    },
  },
  test: { include: ["src/**/*.test.ts"] },
});
