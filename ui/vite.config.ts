// The console's build: output goes into the Python package (mailsage_gql/console_dist),
// file names hashed by content only, so a rebuild from the same sources is byte-identical.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "../mailsage_gql/console_dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
    target: "es2022",
  },
});
