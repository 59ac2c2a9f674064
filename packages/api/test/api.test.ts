import { create, fromBinary, toBinary, toJson } from "@bufbuild/protobuf";
import { anyPack, anyUnpack } from "@bufbuild/protobuf/wkt";
import * as api from "@taloskit/api";
import { Code, CommonErrorSchema, CommonURLSchema } from "@taloskit/api/common";
import { ResourceSchema, State } from "@taloskit/api/cosi";
import {
  MachineEventSchema,
  MachineService,
  MachineStatusEvent_MachineStage,
  MachineStatusEventSchema,
  SequenceEventSchema,
} from "@taloskit/api/machine";
import { apiRegistry } from "@taloskit/api/registry";
import { PCIDeviceSpecSchema } from "@taloskit/api/resources/hardware";
import { StorageService } from "@taloskit/api/storage";
import { describe, expect, it } from "vitest";

describe("@taloskit/api", () => {
  it("round-trips a machine message through the binary wire format", () => {
    const event = create(SequenceEventSchema, {
      sequence: "upgrade",
      error: { code: Code.LOCKED, message: "locked" },
    });
    const decoded = fromBinary(SequenceEventSchema, toBinary(SequenceEventSchema, event));
    expect(decoded.sequence).toBe("upgrade");
    expect(decoded.error?.code).toBe(Code.LOCKED);
    expect(decoded.error?.$typeName).toBe(CommonErrorSchema.typeName);
  });

  it("decodes event payloads packed with the talos/runtime/ type URL prefix", () => {
    const status = create(MachineStatusEventSchema, {
      stage: MachineStatusEvent_MachineStage.RUNNING,
      status: { ready: true },
    });
    const packed = anyPack(MachineStatusEventSchema, status);
    packed.typeUrl = `talos/runtime/${MachineStatusEventSchema.typeName}`;
    const event = create(MachineEventSchema, { id: "e1", data: packed });
    const wire = fromBinary(MachineEventSchema, toBinary(MachineEventSchema, event));
    const payload = wire.data && anyUnpack(wire.data, apiRegistry);
    expect(payload?.$typeName).toBe("machine.MachineStatusEvent");
    expect((payload as typeof status).status?.ready).toBe(true);
  });

  it("keeps proto field numbers of resource specs (PCIDeviceSpec.vendor_id is field 7)", () => {
    const spec = create(PCIDeviceSpecSchema, { vendorId: "0x10de" });
    const bytes = toBinary(PCIDeviceSpecSchema, spec);
    // Tag for field 7, wire type 2 (length-delimited) is (7 << 3) | 2 = 58.
    expect(bytes[0]).toBe(58);
    expect(toJson(PCIDeviceSpecSchema, spec)).toEqual({ vendorId: "0x10de" });
  });

  it("describes services with their streaming kinds", () => {
    expect(MachineService.method.version.methodKind).toBe("unary");
    expect(MachineService.method.logs.methodKind).toBe("server_streaming");
    expect(MachineService.method.etcdRecover.methodKind).toBe("client_streaming");
    expect(State.typeName).toBe("cosi.resource.State");
    expect(State.method.watch.methodKind).toBe("server_streaming");
    expect(StorageService.typeName).toBe("storage.StorageService");
    expect(create(ResourceSchema).$typeName).toBe("cosi.resource.Resource");
    expect(CommonURLSchema.typeName).toBe("common.URL");
  });

  it("registers every service of the Talos v1.14 API", () => {
    const services = [...apiRegistry].filter((t) => t.kind === "service").map((s) => s.typeName);
    expect(services.sort()).toEqual(
      [
        "cluster.ClusterService",
        "cosi.resource.State",
        "inspect.InspectService",
        "machine.DebugService",
        "machine.ImageService",
        "machine.LVMService",
        "machine.LifecycleService",
        "machine.MDService",
        "machine.MachineService",
        "securityapi.SecurityService",
        "signerapi.SignerService",
        "storage.StorageService",
        "time.TimeService",
      ].sort(),
    );
  });

  it("exposes every family as a namespace from the root", () => {
    expect(api.machine.MachineService).toBe(MachineService);
    expect(api.resources.hardware.PCIDeviceSpecSchema).toBe(PCIDeviceSpecSchema);
    expect(api.google.rpc.StatusSchema.typeName).toBe("google.rpc.Status");
  });

  it("exports no value that shadows a global of the runtime", async () => {
    const globals = new Set(Object.getOwnPropertyNames(globalThis));
    const subpaths = Object.keys(
      (await import("../package.json", { with: { type: "json" } })).default.exports,
    ).filter((k) => k !== "./package.json" && k !== ".");
    expect(subpaths.length).toBeGreaterThan(30);
    for (const subpath of subpaths) {
      const mod = (await import(/* @vite-ignore */ `@taloskit/api/${subpath.slice(2)}`)) as Record<
        string,
        unknown
      >;
      const shadowing = Object.keys(mod).filter((name) => globals.has(name));
      expect(shadowing, subpath).toEqual([]);
    }
  });
});
