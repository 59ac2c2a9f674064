// Generating a new cluster's secrets, machine configs and talosconfig.
export {
  type GenerateConfigInput,
  type GeneratedConfig,
  generateConfig,
} from "./config.js";
export {
  CA_VALIDITY_MS,
  CLIENT_VALIDITY_MS,
  type GenerateSecretsOptions,
  generateClientCertificate,
  generateSecrets,
  parseSecrets,
  printSecrets,
  randomToken,
  type SecretsBundle,
} from "./secrets.js";
export {
  DEFAULT_KUBERNETES_VERSIONS,
  GENERATE_VERSIONS,
  type GenerateVersion,
  generateVersion,
} from "./versions.js";
export type { PemCertAndKey } from "./x509.js";
