// Builds the Go oracles before a conformance run (cached by the hash of their sources).
import { buildOracles } from "./oracles.js";

export default function setup(): void {
  buildOracles((line) => console.log(`conformance: ${line}`));
}
