// Wire comparison of two descriptor sets: every package, message, field, oneof
// membership, enum value, service and method, keyed by fully qualified name.
import type {
  EnumDescriptor,
  FieldDescriptor,
  FileDescriptor,
  MessageDescriptor,
} from "./descriptor.js";

/** One wire element and the properties that matter on the wire. */
type Elements = Map<string, Record<string, string>>;

export interface WireDifference {
  /** `file`, `message`, `field`, `extension`, `enum`, `enum value`, `service` or `method`. */
  kind: string;
  name: string;
  /** What differs: `added` (only in ours), `removed` (only in the reference), or a property name. */
  change: string;
  ours?: string;
  reference?: string;
}

function fieldFacts(
  field: FieldDescriptor,
  oneofs: { name: string }[] | undefined,
): Record<string, string> {
  const oneof =
    field.oneofIndex !== undefined && !field.proto3Optional
      ? (oneofs?.[field.oneofIndex]?.name ?? "?")
      : "";
  return {
    number: String(field.number),
    type: field.type,
    label: field.label,
    typeName: field.typeName ?? "",
    oneof,
    optional: field.proto3Optional ? "true" : "false",
  };
}

function addEnum(out: Elements, scope: string, e: EnumDescriptor, file: string): void {
  const name = `${scope}.${e.name}`;
  out.set(`enum ${name}`, { file });
  for (const v of e.value ?? [])
    out.set(`enum value ${name}.${v.name}`, { number: String(v.number) });
}

function addMessage(out: Elements, scope: string, m: MessageDescriptor, file: string): void {
  const name = `${scope}.${m.name}`;
  out.set(`message ${name}`, { file, mapEntry: m.options?.mapEntry ? "true" : "false" });
  for (const f of m.field ?? []) out.set(`field ${name}.${f.name}`, fieldFacts(f, m.oneofDecl));
  for (const e of m.enumType ?? []) addEnum(out, name, e, file);
  for (const n of m.nestedType ?? []) addMessage(out, name, n, file);
}

/** Flattens a descriptor set into `kind name` → wire facts. */
export function wireElements(files: FileDescriptor[]): Elements {
  const out: Elements = new Map();
  for (const file of files) {
    const pkg = file.package ?? "";
    out.set(`file ${file.name}`, { package: pkg, syntax: file.syntax ?? "proto2" });
    for (const e of file.enumType ?? []) addEnum(out, pkg, e, file.name);
    for (const m of file.messageType ?? []) addMessage(out, pkg, m, file.name);
    for (const ext of file.extension ?? []) {
      out.set(`extension ${ext.extendee}.${pkg}.${ext.name}`, fieldFacts(ext, undefined));
    }
    for (const s of file.service ?? []) {
      const service = `${pkg}.${s.name}`;
      out.set(`service ${service}`, { file: file.name });
      for (const m of s.method ?? []) {
        out.set(`method ${service}/${m.name}`, {
          input: m.inputType,
          output: m.outputType,
          clientStreaming: m.clientStreaming ? "true" : "false",
          serverStreaming: m.serverStreaming ? "true" : "false",
        });
      }
    }
  }
  return out;
}

const KINDS = ["file", "message", "field", "extension", "enum value", "enum", "service", "method"];

function split(key: string): { kind: string; name: string } {
  const kind = KINDS.find((k) => key.startsWith(`${k} `)) ?? "";
  return { kind, name: key.slice(kind.length + 1) };
}

/** Every difference between our descriptor set and a reference, sorted for stable output. */
export function compareWire(ours: FileDescriptor[], reference: FileDescriptor[]): WireDifference[] {
  const a = wireElements(ours);
  const b = wireElements(reference);
  const diffs: WireDifference[] = [];
  for (const [key, facts] of a) {
    const other = b.get(key);
    const { kind, name } = split(key);
    if (!other) {
      diffs.push({ kind, name, change: "added" });
      continue;
    }
    for (const prop of Object.keys({ ...facts, ...other })) {
      if (facts[prop] !== other[prop]) {
        diffs.push({
          kind,
          name,
          change: prop,
          ours: facts[prop] ?? "",
          reference: other[prop] ?? "",
        });
      }
    }
  }
  for (const key of b.keys()) {
    if (!a.has(key)) diffs.push({ ...split(key), change: "removed" });
  }
  return diffs.sort(
    (x, y) =>
      x.name.localeCompare(y.name) ||
      x.kind.localeCompare(y.kind) ||
      x.change.localeCompare(y.change),
  );
}

export function formatDifference(d: WireDifference): string {
  if (d.change === "added") return `+ ${d.kind} ${d.name}`;
  if (d.change === "removed") return `- ${d.kind} ${d.name}`;
  return `~ ${d.kind} ${d.name}: ${d.change} ${JSON.stringify(d.ours)} (ours) vs ${JSON.stringify(d.reference)} (reference)`;
}
