// COSI resources through the Talos API: talosctl-style type resolution
// (ResourceDefinitions and their aliases), typed specs from proto_spec, and
// version safety: a spec whose schema differs on the node's Talos version is
// read from yaml_spec instead, and the resource says so.
import { type DescMessage, fromBinary, type Message, toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  type Resource,
  ResourceDefinitionSpec_Sensitivity,
  ResourceDefinitionSpecSchema,
  type ResourceEvent,
} from "@taloskit/api/cosi";
import { apiRegistry } from "@taloskit/api/registry";
import { minorLine, parseYaml } from "@taloskit/core";
import { ResourceTypeError } from "./errors.js";
import { KNOWN_CHANGES } from "./known-changes.data.js";
import type { ResourceDefinition } from "./node-state.js";
import { callOptionsOf, type NodeScope, ownSignal, type TalosCallOptions } from "./services.js";

export type { ResourceDefinition };

/** The COSI type of resource definitions, in namespace "meta". */
export const RESOURCE_DEFINITION_TYPE = "ResourceDefinitions.meta.cosi.dev";
/** The Talos version whose schema the generated API follows. */
export const SCHEMA_VERSION = "v1.14";

/** Resource metadata in plain form. */
export interface ResourceMetadata {
  namespace: string;
  type: string;
  id: string;
  version: string;
  owner: string;
  phase: string;
  created: Date | undefined;
  updated: Date | undefined;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  finalizers: string[];
}

/** A resource read from a node. */
export interface TalosResource<S extends Message = Message> {
  /** The node it was read from (undefined when the call named none). */
  node: string | undefined;
  metadata: ResourceMetadata;
  /** The spec as plain data: from yaml_spec when present (talosctl's keys), else from proto_spec. */
  spec: unknown;
  /** The spec decoded from proto_spec, only when that is safe for the node's version. */
  typedSpec: S | undefined;
  /** Where `typedSpec`/`spec` came from. */
  specSource: "proto" | "yaml" | "none";
  /** Why proto_spec was not used, when it was not. */
  note: string | undefined;
  /** The raw COSI resource. */
  raw: Resource;
}

/** A watch event. */
export interface ResourceWatchEvent {
  type: "created" | "updated" | "destroyed" | "bootstrapped" | "errored" | "noop";
  resource: TalosResource | undefined;
  old: TalosResource | undefined;
  error: string | undefined;
}

/** Options of resource calls. */
export interface ResourceOptions extends TalosCallOptions {
  /** Namespace; default: the type's default namespace. */
  namespace?: string;
}

const FAMILY_PACKAGE: Record<string, string> = {
  net: "network",
  cluster: "cluster",
  hardware: "hardware",
  runtime: "runtime",
  block: "block",
  k8s: "k8s",
  kubernetes: "k8s",
  etcd: "etcd",
  secrets: "secrets",
  time: "time",
  kubespan: "kubespan",
  siderolink: "siderolink",
  cri: "cri",
  perf: "perf",
  files: "files",
  config: "config",
  storage: "storage",
  containers: "containers",
  security: "security",
  kubeaccess: "kubeaccess",
};

/** Resource types whose spec message does not follow the naming pattern. */
const SPEC_OVERRIDES: Record<string, string> = {
  "ExtensionStatuses.runtime.talos.dev": "talos.resource.definitions.extensions.Layer",
  "SecurityStates.talos.dev": "talos.resource.definitions.runtime.SecurityStateSpec",
  "MachineConfigs.config.talos.dev": "",
};

function singular(plural: string): string {
  if (plural.endsWith("ies")) return `${plural.slice(0, -3)}y`;
  if (/(ss|us|sh|ch|x)es$/.test(plural)) return plural.slice(0, -2);
  if (plural.endsWith("s")) return plural.slice(0, -1);
  return plural;
}

/** The protobuf message of a resource type's spec, when the generated API has one. */
export function specSchemaFor(type: string): DescMessage | undefined {
  const override = SPEC_OVERRIDES[type];
  if (override !== undefined) {
    return override ? apiRegistry.getMessage(override) : undefined;
  }
  const m = /^([A-Za-z0-9]+)\.([a-z0-9-]+)\.talos\.dev$/.exec(type);
  if (!m?.[1] || !m[2]) return undefined;
  const pkg = FAMILY_PACKAGE[m[2]];
  if (!pkg) return undefined;
  const name = singular(m[1]);
  const prefix = `talos.resource.definitions.${pkg}.`;
  // "EtcdConfigs.etcd.talos.dev" holds etcd.ConfigSpec: the family may prefix the name.
  const unprefixed = name.toLowerCase().startsWith(m[2]) ? name.slice(m[2].length) : undefined;
  return (
    apiRegistry.getMessage(`${prefix}${name}Spec`) ??
    (unprefixed ? apiRegistry.getMessage(`${prefix}${unprefixed}Spec`) : undefined)
  );
}

/**
 * How a message's wire schema on a Talos version differs from ours, including
 * nested and referenced messages. Empty when identical; undefined when the
 * version is one we have no schema data for (then nothing is known to be safe).
 */
export function schemaChanges(schema: DescMessage, version: string): string[] | undefined {
  const minor = minorLine(version);
  if (!minor) return undefined;
  const key = `v${minor.major}.${minor.minor}`;
  if (key === SCHEMA_VERSION) return [];
  const table = KNOWN_CHANGES[key];
  if (!table) return undefined;
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (desc: DescMessage) => {
    if (seen.has(desc.typeName)) return;
    seen.add(desc.typeName);
    for (const [name, changes] of Object.entries(table)) {
      if (name === desc.typeName || name.startsWith(`${desc.typeName}.`)) {
        for (const c of changes) out.push(`${name}: ${c}`);
      }
    }
    for (const field of desc.fields) {
      if (field.fieldKind === "message") visit(field.message);
      else if (field.fieldKind === "list" && field.listKind === "message") visit(field.message);
      else if (field.fieldKind === "map" && field.mapKind === "message") visit(field.message);
    }
  };
  visit(schema);
  return [...new Set(out)];
}

function plainMetadata(res: Resource): ResourceMetadata {
  const md = res.metadata;
  return {
    namespace: md?.namespace ?? "",
    type: md?.type ?? "",
    id: md?.id ?? "",
    version: md?.version ?? "",
    owner: md?.owner ?? "",
    phase: md?.phase ?? "",
    created: md?.created ? timestampDate(md.created) : undefined,
    updated: md?.updated ? timestampDate(md.updated) : undefined,
    labels: { ...(md?.labels ?? {}) },
    annotations: { ...(md?.annotations ?? {}) },
    finalizers: [...(md?.finalizers ?? [])],
  };
}

/**
 * Decodes a resource's spec for a node running `version`: proto_spec with the
 * generated schema when that schema is the node's too, otherwise yaml_spec,
 * with `note` saying why.
 */
export function decodeResource(
  res: Resource,
  node: string | undefined,
  version: string | undefined,
): TalosResource {
  const metadata = plainMetadata(res);
  const yamlText = res.spec?.yamlSpec ?? "";
  const proto = res.spec?.protoSpec ?? new Uint8Array();
  let yamlSpec: unknown;
  if (yamlText) {
    try {
      yamlSpec = parseYaml(yamlText, { what: `yaml_spec of ${metadata.type}` });
    } catch {
      yamlSpec = yamlText;
    }
  }
  const schema = specSchemaFor(metadata.type);
  let typedSpec: Message | undefined;
  let note: string | undefined;
  if (!schema) {
    note = `no protobuf schema known for ${metadata.type}`;
  } else if (proto.length === 0) {
    note = "the node sent no proto_spec";
  } else if (!version) {
    note = `the node's Talos version is unknown, so ${schema.typeName} may differ there`;
  } else {
    const changes = schemaChanges(schema, version);
    if (changes === undefined) {
      note = `no schema data for Talos ${version}: ${schema.typeName} is read from yaml_spec`;
    } else if (changes.length > 0) {
      note = `${schema.typeName} differs on Talos ${version} (${changes.slice(0, 3).join("; ")}${changes.length > 3 ? "; …" : ""}): read from yaml_spec`;
    } else {
      try {
        typedSpec = fromBinary(schema, proto);
      } catch (error) {
        note = `proto_spec does not decode as ${schema.typeName}: ${(error as Error).message}`;
      }
    }
  }
  let spec: unknown = yamlSpec;
  if (spec === undefined && typedSpec && schema) {
    spec = toJson(schema, typedSpec, { registry: apiRegistry, useProtoFieldName: true });
  }
  const specSource = typedSpec ? "proto" : yamlText ? "yaml" : "none";
  return { node, metadata, spec, typedSpec, specSource, note, raw: res };
}

const EVENT_TYPES = ["created", "updated", "destroyed", "bootstrapped", "errored", "noop"] as const;

/** get, list and watch COSI resources with talosctl-style type names. */
export class Resources {
  constructor(private readonly scope: NodeScope) {}

  /** Every resource definition a node knows (kept with the node's state). */
  definitionsOf(options: Pick<TalosCallOptions, "node"> = {}): Promise<ResourceDefinition[]> {
    return this.scope.nodeState(options.node).resourceDefinitions();
  }

  /**
   * Resolves "pcidevices", "PCIDevices.hardware.talos.dev", "pcidevice" or
   * another alias to the node's resource definition.
   */
  async resolveType(query: string, options: TalosCallOptions = {}): Promise<ResourceDefinition> {
    const defs = await this.definitionsOf(options);
    const found = matchDefinition(defs, query);
    if (found) return found;
    throw new ResourceTypeError(
      "RESOURCE_TYPE_UNKNOWN",
      `resource type "${query}" is not known${options.node ? ` on node ${options.node}` : ""}`,
      { node: options.node },
    );
  }

  /** Reads one resource. */
  async get(type: string, id: string, options: ResourceOptions = {}): Promise<TalosResource> {
    const def = await this.resolveType(type, options);
    const [res, version] = await Promise.all([
      this.scope
        .services(options.node)
        .cosi.get(
          { namespace: options.namespace ?? def.defaultNamespace, type: def.type, id },
          callOptionsOf(options),
        ),
      this.scope.nodeState(options.node).talosVersion(),
    ]);
    if (!res.resource) {
      throw new ResourceTypeError("NOT_FOUND", `${def.type} "${id}" not found`, {
        node: options.node,
      });
    }
    return decodeResource(res.resource, options.node, version);
  }

  /** Lists the resources of a type. */
  async list(type: string, options: ResourceOptions = {}): Promise<TalosResource[]> {
    const def = await this.resolveType(type, options);
    const version = await this.scope.nodeState(options.node).talosVersion();
    const out: TalosResource[] = [];
    for await (const msg of this.scope
      .services(options.node)
      .cosi.list(
        { namespace: options.namespace ?? def.defaultNamespace, type: def.type },
        callOptionsOf(options, { timeoutMs: 60_000 }),
      )) {
      if (msg.resource) out.push(decodeResource(msg.resource, options.node, version));
    }
    return out;
  }

  /**
   * Watches a type (or one resource with `id`); starts with the current
   * contents by default. Leaving the loop ends the watch on the node.
   */
  async *watch(
    type: string,
    options: ResourceOptions & { id?: string; bootstrap?: boolean; tailEvents?: number } = {},
  ): AsyncGenerator<ResourceWatchEvent> {
    const def = await this.resolveType(type, options);
    const version = await this.scope.nodeState(options.node).talosVersion();
    const own = ownSignal(options.signal);
    try {
      const stream = this.scope.services(options.node).cosi.watch(
        {
          namespace: options.namespace ?? def.defaultNamespace,
          type: def.type,
          id: options.id,
          apiVersion: 1,
          options: {
            bootstrapContents: options.bootstrap ?? true,
            tailEvents: options.tailEvents ?? 0,
          },
        },
        callOptionsOf({ ...options, signal: own.signal }),
      );
      for await (const msg of stream) {
        for (const ev of msg.event) yield watchEvent(ev, options.node, version);
      }
    } finally {
      own.release();
    }
  }
}

function watchEvent(
  ev: ResourceEvent,
  node: string | undefined,
  version: string | undefined,
): ResourceWatchEvent {
  return {
    type: EVENT_TYPES[ev.eventType] ?? "noop",
    resource: ev.resource ? decodeResource(ev.resource, node, version) : undefined,
    old: ev.old ? decodeResource(ev.old, node, version) : undefined,
    error: ev.error,
  };
}

/**
 * A resource's yaml_spec as an object (empty when it holds no mapping). Bad YAML
 * throws `YamlError` from @taloskit/core, which names `what` but never the text.
 * @internal
 */
export function specObject(yamlSpec: string, what: string): Record<string, unknown> {
  const value = parseYaml(yamlSpec, { what });
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** Reads a ResourceDefinition resource (proto_spec first, yaml_spec otherwise). */
export function definitionOf(res: Resource): ResourceDefinition {
  const proto = res.spec?.protoSpec;
  if (proto?.length) {
    const s = fromBinary(ResourceDefinitionSpecSchema, proto);
    return {
      type: s.resourceType,
      displayType: s.displayType,
      defaultNamespace: s.defaultNamespace,
      aliases: [...new Set([...s.allAliases, ...s.aliases])],
      sensitive: s.sensitivity === ResourceDefinitionSpec_Sensitivity.SENSITIVE,
      printColumns: s.printColumns.map((c) => ({ name: c.name, jsonPath: c.jsonPath })),
    };
  }
  const y = specObject(res.spec?.yamlSpec ?? "", "resource definition");
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  return {
    type: String(y.type ?? y.resourceType ?? res.metadata?.id ?? ""),
    displayType: String(y.displayType ?? ""),
    defaultNamespace: String(y.defaultNamespace ?? ""),
    aliases: [...new Set([...list(y.allAliases), ...list(y.aliases)])],
    sensitive: String(y.sensitivity ?? "") === "sensitive" || y.sensitivity === 1,
    printColumns: (Array.isArray(y.printColumns) ? y.printColumns : []).map((c) => {
      const col = (c ?? {}) as Record<string, unknown>;
      return { name: String(col.name ?? ""), jsonPath: String(col.jsonPath ?? col.jsonpath ?? "") };
    }),
  };
}

/** talosctl's matching: case-insensitive on the full type or any alias. */
export function matchDefinition(
  defs: readonly ResourceDefinition[],
  query: string,
): ResourceDefinition | undefined {
  const q = query.toLowerCase();
  return (
    defs.find((d) => d.type.toLowerCase() === q) ??
    defs.find((d) => d.aliases.some((a) => a.toLowerCase() === q))
  );
}
