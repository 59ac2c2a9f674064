// The proto printer and the wire check, on in-repo data only: protos/ compiled,
// printed back to .proto, compiled again, must be the same API on the wire.

import { execFileSync } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { printProtos } from "../scripts/descriptor-to-proto.js";
import { compileProtos, repoRoot, withTempDir } from "../scripts/lib/buf.js";
import type { FileDescriptor } from "../scripts/lib/descriptor.js";
import { readDescriptorSet } from "../scripts/lib/descriptor.js";
import { compareWire, formatDifference } from "../scripts/lib/wire.js";

const compiled = compileProtos();

function clone(files: FileDescriptor[]): FileDescriptor[] {
  return structuredClone(files);
}

function machineFile(files: FileDescriptor[]): FileDescriptor {
  const file = files.find((f) => f.name === "machine/machine.proto");
  if (!file) throw new Error("machine/machine.proto not compiled");
  return file;
}

describe("wire check", () => {
  it("finds no difference between a descriptor set and itself", () => {
    expect(compareWire(compiled, clone(compiled))).toEqual([]);
  });

  it("reports a field whose number changed, and names both values", () => {
    const changed = clone(compiled);
    const message = machineFile(changed).messageType?.find((m) => m.name === "VersionInfo");
    const tag = message?.field?.find((f) => f.name === "tag");
    if (!tag) throw new Error("VersionInfo.tag missing");
    tag.number = 99;
    expect(compareWire(changed, compiled).map(formatDifference)).toEqual([
      '~ field machine.VersionInfo.tag: number "99" (ours) vs "1" (reference)',
    ]);
  });

  it("reports removed methods, changed streaming flags, moved oneof members and enum values", () => {
    const changed = clone(compiled);
    const machine = machineFile(changed);
    const service = machine.service?.find((s) => s.name === "MachineService");
    if (!service?.method) throw new Error("MachineService missing");
    service.method = service.method.filter((m) => m.name !== "Version");
    const logs = service.method.find((m) => m.name === "Logs");
    if (logs) logs.serverStreaming = false;
    const pull = changed
      .find((f) => f.name === "machine/image.proto")
      ?.messageType?.find((m) => m.name === "ImageServicePullResponse");
    const name = pull?.field?.find((f) => f.name === "name");
    if (name) delete name.oneofIndex;
    const code = changed
      .find((f) => f.name === "common/common.proto")
      ?.enumType?.find((e) => e.name === "Code");
    code?.value?.push({ name: "UNAVAILABLE", number: 3 });
    expect(compareWire(changed, compiled).map(formatDifference)).toEqual([
      "+ enum value common.Code.UNAVAILABLE",
      '~ field machine.ImageServicePullResponse.name: oneof "" (ours) vs "response" (reference)',
      '~ method machine.MachineService/Logs: serverStreaming "false" (ours) vs "true" (reference)',
      "- method machine.MachineService/Version",
    ]);
  });

  it("reads the binary and the JSON forms of a descriptor set alike", () => {
    withTempDir((dir) => {
      const json = join(dir, "set.json");
      writeFileSync(json, JSON.stringify({ file: compiled }));
      expect(compareWire(readDescriptorSet(json), compiled)).toEqual([]);
    });
  });
});

describe("proto printer", () => {
  it("prints protos that compile back to the same wire API", () => {
    withTempDir((dir) => {
      const descriptorPath = join(dir, "in.json");
      writeFileSync(descriptorPath, JSON.stringify({ file: compiled }));
      const out = join(dir, "protos");
      printProtos(descriptorPath, out, "test");
      cpSync(join(repoRoot, "protos/buf.yaml"), join(out, "buf.yaml"));
      const built = join(dir, "out.binpb");
      execFileSync(join(repoRoot, "node_modules/.bin/buf"), ["build", "-o", built], { cwd: out });
      expect(compareWire(readDescriptorSet(built), compiled)).toEqual([]);
    });
  });

  it("writes readable protos: relative type names, map fields, oneofs and options", () => {
    const image = readFileSync(join(repoRoot, "protos/talos/machine/image.proto"), "utf8");
    expect(image).toContain("map<string, string> labels = 5;");
    expect(image).toMatch(/oneof response \{\n {4}string name = 1;/);
    expect(image).toContain("common.ContainerdInstance containerd = 1;");
    const common = readFileSync(join(repoRoot, "protos/talos/common/common.proto"), "utf8");
    expect(common).toContain('[deprecated = true, (common.remove_deprecated_field) = "v2.0"]');
  });
});
