import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";
import { packageBuild } from "../../tsup.base.js";

// One entry per subpath of the generated exports map.
const { exports } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));
const entry: Record<string, string> = {};
for (const key of Object.keys(exports)) {
  if (key === "./package.json") continue;
  const name = key === "." ? "index" : key.slice(2);
  entry[name] = `src/${name}.ts`;
}

export default defineConfig(packageBuild(entry));
