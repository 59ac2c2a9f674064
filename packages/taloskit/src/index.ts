export * from "@taloskit/client";
export * from "./config/index.js";
export * from "./hardware/index.js";
export * from "./kubernetes/index.js";
export * from "./upgrade/index.js";
