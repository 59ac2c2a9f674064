// What the client knows of each node: its Talos version, its resource
// definitions and its boot ID, read when first needed and forgotten together
// when the node may have changed (a reboot, upgrade, reset or rollback call,
// or a dropped connection).
import type { Interceptor } from "@connectrpc/connect";
import { NODE_KEY } from "./context.js";
import { TalosError } from "./errors.js";

/** A resource type as the node defines it. */
export interface ResourceDefinition {
  /** Full type, e.g. "PCIDevices.hardware.talos.dev". */
  type: string;
  displayType: string;
  defaultNamespace: string;
  aliases: string[];
  sensitive: boolean;
  /** Columns that `get` prints beside the ID: a name and a JSONPath (`{.stage}`) into the spec. */
  printColumns: { name: string; jsonPath: string }[];
}

/** How a node's facts are read; `node` is undefined for the endpoint's own node. */
export interface NodeFactReaders {
  version(node: string | undefined): Promise<string | undefined>;
  definitions(node: string | undefined): Promise<ResourceDefinition[]>;
  bootId(node: string | undefined): Promise<string | undefined>;
}

/** The facts of one node, each read once and shared by every caller until forgotten. */
export class NodeState {
  private version?: Promise<string | undefined>;
  private definitions?: Promise<ResourceDefinition[]>;
  private bootId?: Promise<string | undefined>;

  constructor(
    readonly node: string | undefined,
    private readonly read: NodeFactReaders,
  ) {}

  /** The Talos version tag the node runs ("v1.14.2"), or undefined when it cannot be read. */
  talosVersion(): Promise<string | undefined> {
    this.version ??= this.read.version(this.node).catch(() => undefined);
    // An unreadable version is asked again next time.
    return this.version.then((v) => {
      if (v === undefined) this.version = undefined;
      return v;
    });
  }

  /** Every resource definition the node knows. */
  resourceDefinitions(): Promise<ResourceDefinition[]> {
    if (!this.definitions) {
      const pending = this.read.definitions(this.node);
      pending.catch(() => {
        if (this.definitions === pending) this.definitions = undefined;
      });
      this.definitions = pending;
    }
    return this.definitions;
  }

  /** The node's boot ID (the BootID resource, Talos 1.14 and later), or undefined. */
  currentBootId(): Promise<string | undefined> {
    this.bootId ??= this.read.bootId(this.node).catch(() => undefined);
    return this.bootId.then((id) => {
      if (id === undefined) this.bootId = undefined;
      return id;
    });
  }
}

/** The state of every node a client talks to. */
export class NodeStates {
  private readonly states = new Map<string, NodeState>();

  constructor(private readonly read: NodeFactReaders) {}

  /** The state of a node (undefined: the endpoint's own node). */
  of(node: string | undefined): NodeState {
    const key = node ?? "";
    let state = this.states.get(key);
    if (!state) {
      state = new NodeState(node, this.read);
      this.states.set(key, state);
    }
    return state;
  }

  /** Forgets what is known of a node, or of every node. */
  forget(node?: string | undefined): void {
    if (node === undefined) this.states.clear();
    else this.states.delete(node);
  }
}

/** Calls after which a node may run another Talos version, or another boot. */
const NODE_CHANGING = new Set([
  "machine.MachineService/Upgrade",
  "machine.MachineService/Reboot",
  "machine.MachineService/Rollback",
  "machine.MachineService/Reset",
  "machine.LifecycleService/Upgrade",
  "machine.LifecycleService/Install",
]);

/** Forgets a node's state around calls that change it, and when it cannot be reached. */
export function nodeStateInterceptor(states: NodeStates): Interceptor {
  return (next) => async (req) => {
    const node = req.contextValues.get(NODE_KEY) || "";
    const changing = NODE_CHANGING.has(`${req.method.parent.typeName}/${req.method.name}`);
    if (changing) states.forget(node);
    try {
      const res = await next(req);
      if (changing) states.forget(node);
      return res;
    } catch (error) {
      if (
        changing ||
        (error instanceof TalosError &&
          (error.code === "UNAVAILABLE" || error.code === "ENDPOINT_UNREACHABLE"))
      ) {
        states.forget(node);
      }
      throw error;
    }
  };
}
