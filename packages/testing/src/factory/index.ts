// The Image Factory simulator: one handler, served via msw or node:http.
export {
  createFactorySimulator,
  DEFAULT_SIM_VERSIONS,
  type FactorySimOptions,
  FactorySimulator,
  type RecordedRequest,
  SIM_COSIGN_KEY,
  SIM_SIGNING_CERT,
  syntheticBytes,
} from "./handler.js";
export { factoryMswHandlers } from "./msw.js";
export { type FactoryServer, startFactoryServer } from "./server.js";
