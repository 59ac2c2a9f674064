// @taloskit/core: the error base, Talos versions and the retry policy that
// every taloskit package shares.
export { messageOf, TalosError, type TalosErrorCode, type TalosErrorOptions } from "./errors.js";
export {
  type BackoffPolicy,
  backoffDelay,
  type PollOptions,
  pollUntil,
  type RetryLoop,
  retry,
  sleep,
} from "./retry.js";
export {
  atLeastMinor,
  compareMinors,
  compareVersions,
  completeVersion,
  type MinorLine,
  minorLine,
  minorOf,
  parseTalosVersion,
  type TalosVersion,
  tryParseTalosVersion,
  versionTag,
} from "./version.js";
export {
  parseYaml,
  parseYamlDocuments,
  YAML_MAX_ALIAS_NODES,
  YAML_MAX_BYTES,
  YAML_MAX_DEPTH,
  YamlError,
  type YamlErrorCode,
  type YamlReadOptions,
} from "./yaml.js";
