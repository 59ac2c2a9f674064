// Runs under Deno against the built packages, as a Deno user would import them from npm.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { MachineService, VersionInfoSchema } from "@taloskit/api/machine";

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`deno smoke: ${message}`);
}

const info = create(VersionInfoSchema, { tag: "v1.14.0", arch: "amd64" });
const decoded = fromBinary(VersionInfoSchema, toBinary(VersionInfoSchema, info));
check(decoded.tag === "v1.14.0" && decoded.arch === "amd64", "VersionInfo did not round-trip");
check(MachineService.typeName === "machine.MachineService", "MachineService descriptor missing");
check(MachineService.method.version.name === "Version", "MachineService.Version missing");
console.log("deno smoke: 1 passed, 0 failed");
