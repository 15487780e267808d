// Vite builds web/ into web/dist, which crates/webapp embeds in the roost binary.
// In development, `npm run dev` proxies the API to a roost serve on :8080.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  build: { target: "es2022", assetsInlineLimit: 0, reportCompressedSize: true },
  server: { proxy: { "/api": "http://127.0.0.1:8080" } },
});
