// The root of taloskit lists its exports by name; nothing an area exports, nor
// anything of the client it re-exports, may be left out of it.
import * as client from "@taloskit/client";
import { describe, expect, it } from "vitest";
import * as config from "../src/config/index.js";
import * as hardware from "../src/hardware/index.js";
import * as root from "../src/index.js";
import * as kubernetes from "../src/kubernetes/index.js";
import * as upgrade from "../src/upgrade/index.js";

describe("the taloskit entry point", () => {
  for (const [area, mod] of Object.entries({ client, config, hardware, kubernetes, upgrade })) {
    it(`re-exports every value of ${area}`, () => {
      const missing = Object.keys(mod).filter(
        (name) =>
          (root as Record<string, unknown>)[name] !== (mod as Record<string, unknown>)[name],
      );
      expect(missing).toEqual([]);
    });
  }
});
