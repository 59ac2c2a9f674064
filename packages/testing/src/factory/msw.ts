// The simulated factory as msw request handlers, for tests that intercept fetch.
import { http } from "msw";
import type { FactorySimulator } from "./handler.js";

/** msw handlers that route every request under `baseUrl` to the simulator. */
export function factoryMswHandlers(sim: FactorySimulator, baseUrl = "https://factory.talos.dev") {
  const base = baseUrl.replace(/\/+$/, "");
  return [http.all(`${base}/*`, ({ request }) => sim.handle(request))];
}
