// InspectService: the controller dependency graph, built from the resource
// types the node's version serves (each type's controller, reading the config).
import { DependencyEdgeType } from "@taloskit/api/inspect";
import type { Impls, UnaryImpl } from "../handlers.js";
import { typesFor } from "../resources.js";
import type { SimNodeState } from "../state.js";

/** What InspectService reads of a node. */
export interface InspectHost {
  readonly state: Pick<SimNodeState, "version">;
}

/** ControllerRuntimeDependencies. */
export function inspectImpls({ state: st }: InspectHost): Impls {
  return {
    "/inspect.InspectService/ControllerRuntimeDependencies": (() => {
      const edges = typesFor(st.version)
        .filter((t) => t.namespace !== "meta")
        .map((t) => {
          const [kind, family] = t.type.split(".");
          return {
            controllerName: `${family}.${(kind ?? "").replace(/s$/, "")}Controller`,
            edgeType: DependencyEdgeType.OUTPUT_EXCLUSIVE,
            resourceNamespace: t.namespace,
            resourceType: t.type,
          };
        });
      // Most controllers read the machine config.
      const inputs = [...new Set(edges.map((e) => e.controllerName))].map((controllerName) => ({
        controllerName,
        edgeType: DependencyEdgeType.INPUT_WEAK,
        resourceNamespace: "config",
        resourceType: "MachineConfigs.config.talos.dev",
        resourceId: "v1alpha1",
      }));
      return { messages: [{ edges: [...edges, ...inputs] }] };
    }) as UnaryImpl,
  };
}
