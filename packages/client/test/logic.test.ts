import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ResourceDefinitionSpecSchema, ResourceSchema } from "@taloskit/api/cosi";
import { ConfigSpecSchema as EtcdConfigSpecSchema } from "@taloskit/api/resources/etcd";
import { PCIDeviceSpecSchema } from "@taloskit/api/resources/hardware";
import { KubeletConfigSpecSchema } from "@taloskit/api/resources/k8s";
import { describe, expect, it } from "vitest";
import {
  decodeResource,
  definitionOf,
  explainUnavailable,
  isRpcAvailable,
  legacyResults,
  matchDefinition,
  requiredRoles,
  rpcAddedIn,
  runOnNodes,
  schemaChanges,
  specSchemaFor,
  TalosError,
} from "../src/index.js";
import { KNOWN_CHANGES } from "../src/known-changes.data.js";
import { RPC_AVAILABILITY } from "../src/rpc-availability.data.js";

describe("rpc availability data", () => {
  it("matches what the known-changes files say about services", () => {
    const v13 = readFileSync(
      join(import.meta.dirname, "../../../protos/known-changes/talos-v1.13.txt"),
      "utf8",
    );
    for (const m of v13.matchAll(/^\+ method (\S+)$/gm)) {
      expect(isRpcAvailable(m[1] as string, "v1.13.9"), m[1]).toBe(false);
      expect(isRpcAvailable(m[1] as string, "v1.14.0"), m[1]).toBe(true);
    }
    expect(Object.keys(RPC_AVAILABILITY).length).toBeGreaterThan(80);
  });

  it("answers per version", () => {
    expect(rpcAddedIn("machine.LVMService/VolumeGroupRemove")).toBe("v1.14");
    expect(isRpcAvailable("machine.ImageService/Pull", "v1.12.11")).toBe(false);
    expect(isRpcAvailable("machine.ImageService/Pull", "v1.13.0-beta.1")).toBe(true);
    expect(isRpcAvailable("machine.MachineService/Version", "v1.15.0")).toBe(true);
    expect(isRpcAvailable("machine.MachineService/Version", "v1.9.0")).toBeUndefined();
    expect(explainUnavailable("machine.MachineService/GenerateConfiguration", "v1.13.1")).toBe(
      "the call was removed in Talos v1.13",
    );
    expect(explainUnavailable("machine.MDService/Destroy", "v1.12.0")).toBe(
      "the call was added in Talos v1.14",
    );
    expect(explainUnavailable("machine.MachineService/Version", "v1.12.0")).toBeUndefined();
    expect(requiredRoles("machine.MachineService/Read")).toEqual(["os:admin"]);
    expect(requiredRoles("machine.MachineService/Version")).toBeUndefined();
  });
});

describe("fan-out", () => {
  it("lets many calls listen on the shared signal without Node's leak warning", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      const nodes = Array.from({ length: 40 }, (_, i) => `10.5.0.${i}`);
      await runOnNodes(
        nodes,
        async (node, signal) => {
          signal.addEventListener("abort", () => {}); // as every transport call does
          await new Promise((r) => setTimeout(r, 5));
          return node;
        },
        { concurrency: 32 },
      );
      await new Promise((r) => setImmediate(r)); // warnings are emitted on a later tick
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings).not.toContain("MaxListenersExceededWarning");
  });

  it("bounds concurrency, keeps order, and returns values and typed errors", async () => {
    let running = 0;
    let peak = 0;
    const nodes = Array.from({ length: 20 }, (_, i) => `10.0.0.${i}`);
    const results = await runOnNodes(
      nodes,
      async (node) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        if (node.endsWith(".3")) throw new Error("boom");
        return node.length;
      },
      { concurrency: 4 },
    );
    expect(peak).toBe(4);
    expect(results.map((r) => r.node)).toEqual(nodes);
    const bad = results[3];
    expect(bad && "error" in bad && bad.error).toBeInstanceOf(TalosError);
    expect(bad && "error" in bad ? bad.error.node : "").toBe("10.0.0.3");
    expect(results.filter((r) => "value" in r)).toHaveLength(19);
  });

  it("stops starting calls once aborted", async () => {
    const ac = new AbortController();
    let started = 0;
    const results = await runOnNodes(
      ["a", "b", "c", "d"],
      async () => {
        started++;
        ac.abort();
        return 1;
      },
      { concurrency: 1, signal: ac.signal },
    );
    expect(started).toBe(1);
    expect(results.slice(1).every((r) => "error" in r && r.error.code === "CANCELED")).toBe(true);
  });

  it("decodes legacy common.Metadata errors", () => {
    const results = legacyResults({
      messages: [
        { metadata: { hostname: "n1", error: "", status: undefined }, tag: "v1" },
        {
          metadata: {
            hostname: "n2",
            error: "rpc error: denied",
            status: { code: 7, message: "denied" },
          },
        },
      ] as never,
    });
    expect(results[0]).toMatchObject({ node: "n1", value: { tag: "v1" } });
    const err = results[1] && "error" in results[1] ? results[1].error : undefined;
    expect(err?.code).toBe("PERMISSION_DENIED");
    expect(err?.node).toBe("n2");
  });
});

describe("resource types", () => {
  const defs = [
    definitionOf(
      create(ResourceSchema, {
        metadata: { id: "pcidevices.hardware.talos.dev" },
        spec: {
          protoSpec: toBinary(
            ResourceDefinitionSpecSchema,
            create(ResourceDefinitionSpecSchema, {
              resourceType: "PCIDevices.hardware.talos.dev",
              displayType: "PCIDevice",
              defaultNamespace: "hardware",
              aliases: ["pcidevice"],
              allAliases: ["pcidevice", "pcidevices", "PCIDevice"],
            }),
          ),
        },
      }),
    ),
    definitionOf(
      create(ResourceSchema, {
        metadata: { id: "versions.runtime.talos.dev" },
        spec: {
          yamlSpec:
            "type: Versions.runtime.talos.dev\ndisplayType: Version\ndefaultNamespace: runtime\naliases: [version]\nallAliases: [version, versions]\n",
        },
      }),
    ),
  ];

  it("resolves like talosctl: full type or any alias, case-insensitive", () => {
    for (const q of ["pcidevices", "PCIDevices.hardware.talos.dev", "pcidevice", "PCIDEVICE"]) {
      expect(matchDefinition(defs, q)?.type, q).toBe("PCIDevices.hardware.talos.dev");
    }
    expect(matchDefinition(defs, "versions")?.defaultNamespace).toBe("runtime");
    expect(matchDefinition(defs, "nope")).toBeUndefined();
  });

  it("finds spec schemas by type name", () => {
    expect(specSchemaFor("PCIDevices.hardware.talos.dev")?.typeName).toBe(
      "talos.resource.definitions.hardware.PCIDeviceSpec",
    );
    expect(specSchemaFor("MachineStatuses.runtime.talos.dev")?.typeName).toBe(
      "talos.resource.definitions.runtime.MachineStatusSpec",
    );
    expect(specSchemaFor("LinkStatuses.net.talos.dev")?.typeName).toBe(
      "talos.resource.definitions.network.LinkStatusSpec",
    );
    expect(specSchemaFor("MachineConfigs.config.talos.dev")).toBeUndefined();
  });
});

describe("version safety", () => {
  it("knows the etcd/kubelet extra_args change and the removed kubelet field", () => {
    expect(schemaChanges(EtcdConfigSpecSchema, "v1.14.0")).toEqual([]);
    expect(schemaChanges(EtcdConfigSpecSchema, "v1.12.5")?.join()).toMatch(/extra_args changed/);
    expect(schemaChanges(KubeletConfigSpecSchema, "v1.13.9")?.join()).toMatch(
      /allow_scheduling_on_control_plane removed/,
    );
    expect(schemaChanges(PCIDeviceSpecSchema, "v1.13.9")).toEqual([]);
    expect(schemaChanges(PCIDeviceSpecSchema, "v1.11.0")).toBeUndefined();
    expect(Object.keys(KNOWN_CHANGES)).toEqual(["v1.12", "v1.13"]);
  });

  const pci = (type: string, proto: Uint8Array, yaml: string) =>
    create(ResourceSchema, {
      metadata: {
        namespace: "hardware",
        type,
        id: "0000:00:01.0",
        version: "3",
        phase: "running",
        created: timestampFromDate(new Date("2026-01-01T00:00:00Z")),
        labels: { a: "b" },
      },
      spec: { protoSpec: proto, yamlSpec: yaml },
    });

  it("decodes proto_spec when the schema is the node's", () => {
    const proto = toBinary(
      PCIDeviceSpecSchema,
      create(PCIDeviceSpecSchema, { vendorId: "0x10de" }),
    );
    const r = decodeResource(
      pci("PCIDevices.hardware.talos.dev", proto, 'vendor_id: "0x10de"\n'),
      "n",
      "v1.13.9",
    );
    expect(r.specSource).toBe("proto");
    expect((r.typedSpec as { vendorId?: string }).vendorId).toBe("0x10de");
    expect(r.spec).toEqual({ vendor_id: "0x10de" });
    expect(r.metadata.created?.toISOString()).toBe("2026-01-01T00:00:00.000Z");
    expect(r.note).toBeUndefined();
  });

  it("falls back to yaml_spec and says so when the schema differs on the node's version", () => {
    // The bytes a v1.12 node sends: extra_args as field 4 with string values.
    const oldWire = Uint8Array.from([
      0x22, 0x0a, 0x0a, 0x03, 0x61, 0x62, 0x63, 0x12, 0x03, 0x78, 0x79, 0x7a,
    ]);
    const r = decodeResource(
      pci("EtcdConfigs.etcd.talos.dev", oldWire, "extraArgs:\n  abc: xyz\n"),
      "n",
      "v1.12.11",
    );
    expect(r.specSource).toBe("yaml");
    expect(r.typedSpec).toBeUndefined();
    expect(r.note).toMatch(/differs on Talos v1.12.11/);
    expect(r.spec).toEqual({ extraArgs: { abc: "xyz" } });
    const unknown = decodeResource(
      pci("PCIDevices.hardware.talos.dev", new Uint8Array([8, 1]), "a: 1\n"),
      "n",
      undefined,
    );
    expect(unknown.specSource).toBe("yaml");
    expect(unknown.note).toMatch(/version is unknown/);
  });
});
