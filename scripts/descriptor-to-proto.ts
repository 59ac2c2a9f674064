// Prints .proto sources from a descriptor set: the wire facts (names, numbers,
// types, labels, oneofs, streaming flags, deprecations) and nothing else.
//
//   tsx scripts/descriptor-to-proto.ts <descriptor.json> <out-dir>
//
// Files of the COSI specification (`v1alpha1/…`) go to <out-dir>/cosi, the rest
// to <out-dir>/talos, matching the module roots in protos/buf.yaml.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  type EnumDescriptor,
  type FieldDescriptor,
  type FileDescriptor,
  isWellKnownType,
  type MessageDescriptor,
  type MethodDescriptor,
  type Options,
  readDescriptorSet,
} from "./lib/descriptor.js";

const SCALAR_TYPES: Record<string, string> = {
  TYPE_DOUBLE: "double",
  TYPE_FLOAT: "float",
  TYPE_INT64: "int64",
  TYPE_UINT64: "uint64",
  TYPE_INT32: "int32",
  TYPE_FIXED64: "fixed64",
  TYPE_FIXED32: "fixed32",
  TYPE_BOOL: "bool",
  TYPE_STRING: "string",
  TYPE_BYTES: "bytes",
  TYPE_UINT32: "uint32",
  TYPE_SFIXED32: "sfixed32",
  TYPE_SFIXED64: "sfixed64",
  TYPE_SINT32: "sint32",
  TYPE_SINT64: "sint64",
};

/** Every fully qualified name a reference could resolve to: packages, their prefixes, messages and enums. */
function collectSymbols(files: FileDescriptor[]): Set<string> {
  const symbols = new Set<string>();
  const addMessages = (scope: string, messages: MessageDescriptor[] = []) => {
    for (const message of messages) {
      const name = `${scope}.${message.name}`;
      symbols.add(name);
      for (const e of message.enumType ?? []) symbols.add(`${name}.${e.name}`);
      addMessages(name, message.nestedType);
    }
  };
  for (const file of files) {
    const parts = (file.package ?? "").split(".");
    for (let i = 1; i <= parts.length; i++) symbols.add(`.${parts.slice(0, i).join(".")}`);
    const scope = file.package ? `.${file.package}` : "";
    for (const e of file.enumType ?? []) symbols.add(`${scope}.${e.name}`);
    addMessages(scope, file.messageType);
  }
  return symbols;
}

/**
 * The shortest name that protoc resolves, from `scope`, to the fully qualified
 * `target` (which starts with a dot). Resolution looks up the first component of
 * a relative name in each enclosing scope, innermost first, so a shorter name is
 * only used when that lookup lands on the target.
 */
function relativeName(target: string, scope: string, symbols: Set<string>): string {
  const parts = target.slice(1).split(".");
  for (let start = parts.length - 1; start >= 0; start--) {
    const candidate = parts.slice(start);
    if (resolve(candidate, scope, symbols) === target) return candidate.join(".");
  }
  return target;
}

function resolve(name: string[], scope: string, symbols: Set<string>): string | undefined {
  const scopeParts = scope.slice(1).split(".").filter(Boolean);
  for (let depth = scopeParts.length; depth >= 0; depth--) {
    const base = depth === 0 ? "" : `.${scopeParts.slice(0, depth).join(".")}`;
    if (symbols.has(`${base}.${name[0]}`)) return `${base}.${name.join(".")}`;
  }
  return undefined;
}

class ProtoWriter {
  private lines: string[] = [];
  private depth = 0;

  line(text = ""): void {
    this.lines.push(text === "" ? "" : "  ".repeat(this.depth) + text);
  }

  block(head: string, body: () => void): void {
    this.line(`${head} {`);
    this.depth++;
    body();
    this.depth--;
    this.line("}");
  }

  toString(): string {
    // No blank line right after an opening brace or right before a closing one.
    const out = this.lines.filter(
      (l, i, all) => !(l === "" && (all[i - 1]?.endsWith("{") || all[i + 1]?.trim() === "}")),
    );
    return `${out.join("\n")}\n`;
  }
}

/** Renders deprecation and custom options (`[pkg.name]` keys) as `name = value` pairs. */
function optionPairs(options: Options | undefined, skip: string[] = []): string[] {
  if (!options) return [];
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    if (skip.includes(key)) continue;
    const name = key.startsWith("[") ? `(${key.slice(1, -1)})` : snakeCase(key);
    pairs.push(`${name} = ${typeof value === "string" ? JSON.stringify(value) : String(value)}`);
  }
  return pairs;
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

class FilePrinter {
  private readonly out = new ProtoWriter();
  private readonly pkgScope: string;

  constructor(
    private readonly file: FileDescriptor,
    private readonly symbols: Set<string>,
    private readonly source: string,
  ) {
    this.pkgScope = file.package ? `.${file.package}` : "";
  }

  print(): string {
    const { file, out } = this;
    out.line(`// Wire definitions for ${file.name}, printed from ${this.source}.`);
    out.line("// Regenerate with scripts/descriptor-to-proto.ts; do not edit by hand.");
    out.line(`syntax = "${file.syntax || "proto2"}";`);
    out.line();
    if (file.package) out.line(`package ${file.package};`);
    if (file.dependency?.length) {
      out.line();
      for (const dep of file.dependency) out.line(`import "${dep}";`);
    }
    this.printExtensions(file.extension ?? [], this.pkgScope);
    for (const e of file.enumType ?? []) this.printEnum(e);
    for (const m of file.messageType ?? []) this.printMessage(m, this.pkgScope);
    for (const service of file.service ?? []) {
      out.line();
      out.block(`service ${service.name}`, () => {
        this.printOptionStatements(service.options);
        for (const method of service.method ?? []) this.printMethod(method);
      });
    }
    return out.toString();
  }

  private typeRef(field: FieldDescriptor, scope: string): string {
    if (field.typeName) return relativeName(field.typeName, scope, this.symbols);
    const scalar = SCALAR_TYPES[field.type];
    if (!scalar)
      throw new Error(`${this.file.name}: field ${field.name} has unsupported type ${field.type}`);
    return scalar;
  }

  private printOptionStatements(options: Options | undefined, skip: string[] = []): void {
    for (const pair of optionPairs(options, skip)) this.out.line(`option ${pair};`);
  }

  private printExtensions(extensions: FieldDescriptor[], scope: string): void {
    const byExtendee = new Map<string, FieldDescriptor[]>();
    for (const ext of extensions) {
      const list = byExtendee.get(ext.extendee ?? "") ?? [];
      list.push(ext);
      byExtendee.set(ext.extendee ?? "", list);
    }
    for (const [extendee, fields] of byExtendee) {
      this.out.line();
      this.out.block(`extend ${relativeName(extendee, scope, this.symbols)}`, () => {
        for (const f of fields) this.printField(f, scope);
      });
    }
  }

  private printEnum(e: EnumDescriptor): void {
    this.out.line();
    this.out.block(`enum ${e.name}`, () => {
      this.printOptionStatements(e.options);
      for (const v of e.value ?? []) {
        const opts = optionPairs(v.options);
        this.out.line(`${v.name} = ${v.number}${opts.length ? ` [${opts.join(", ")}]` : ""};`);
      }
    });
  }

  private printMessage(m: MessageDescriptor, parentScope: string): void {
    const scope = `${parentScope}.${m.name}`;
    const mapEntries = new Map(
      (m.nestedType ?? []).filter((n) => n.options?.mapEntry).map((n) => [`${scope}.${n.name}`, n]),
    );
    this.out.line();
    this.out.block(`message ${m.name}`, () => {
      this.printOptionStatements(m.options, ["mapEntry"]);
      for (const r of m.reservedRange ?? []) {
        this.out.line(
          `reserved ${r.end - r.start === 1 ? r.start : `${r.start} to ${r.end - 1}`};`,
        );
      }
      if (m.reservedName?.length) {
        this.out.line(`reserved ${m.reservedName.map((n) => JSON.stringify(n)).join(", ")};`);
      }
      for (const e of m.enumType ?? []) this.printEnum(e);
      for (const n of m.nestedType ?? []) if (!n.options?.mapEntry) this.printMessage(n, scope);
      const fields = m.field ?? [];
      if (
        fields.length &&
        (m.enumType?.length || m.nestedType?.some((n) => !n.options?.mapEntry))
      ) {
        this.out.line();
      }
      const printedOneofs = new Set<number>();
      for (const field of fields) {
        const oneof = field.proto3Optional ? undefined : field.oneofIndex;
        if (oneof === undefined) {
          this.printField(field, scope, mapEntries);
          continue;
        }
        if (printedOneofs.has(oneof)) continue;
        printedOneofs.add(oneof);
        this.out.block(`oneof ${m.oneofDecl?.[oneof]?.name}`, () => {
          for (const member of fields) {
            if (member.oneofIndex === oneof && !member.proto3Optional)
              this.printField(member, scope);
          }
        });
      }
    });
  }

  private printField(
    field: FieldDescriptor,
    scope: string,
    mapEntries = new Map<string, MessageDescriptor>(),
  ): void {
    const entry = field.typeName ? mapEntries.get(field.typeName) : undefined;
    let type: string;
    let label = "";
    if (entry) {
      const [key, value] = entry.field ?? [];
      if (!key || !value)
        throw new Error(`${this.file.name}: map entry ${entry.name} lacks key or value`);
      type = `map<${this.typeRef(key, scope)}, ${this.typeRef(value, scope)}>`;
    } else {
      type = this.typeRef(field, scope);
      if (field.label === "LABEL_REPEATED") label = "repeated ";
      else if (field.proto3Optional) label = "optional ";
      else if (field.label === "LABEL_REQUIRED") label = "required ";
    }
    const opts = optionPairs(field.options);
    this.out.line(
      `${label}${type} ${field.name} = ${field.number}${opts.length ? ` [${opts.join(", ")}]` : ""};`,
    );
  }

  private printMethod(method: MethodDescriptor): void {
    const input = `${method.clientStreaming ? "stream " : ""}${relativeName(method.inputType, this.pkgScope, this.symbols)}`;
    const output = `${method.serverStreaming ? "stream " : ""}${relativeName(method.outputType, this.pkgScope, this.symbols)}`;
    const head = `rpc ${method.name}(${input}) returns (${output})`;
    const opts = optionPairs(method.options);
    if (!opts.length) {
      this.out.line(`${head};`);
      return;
    }
    this.out.block(head, () => this.printOptionStatements(method.options));
  }
}

/** Where a descriptor file lives under protos/: COSI files in their own module root. */
export function protoPath(fileName: string): string {
  return fileName.startsWith("v1alpha1/") ? join("cosi", fileName) : join("talos", fileName);
}

export function printProtos(descriptorPath: string, outDir: string, source: string): string[] {
  const files = readDescriptorSet(descriptorPath);
  const symbols = collectSymbols(files);
  const written: string[] = [];
  for (const dir of ["talos", "cosi"]) rmSync(join(outDir, dir), { recursive: true, force: true });
  for (const file of files) {
    if (isWellKnownType(file)) continue;
    const target = join(outDir, protoPath(file.name));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, new FilePrinter(file, symbols, source).print());
    written.push(target);
  }
  return written;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [descriptorPath, outDir] = process.argv.slice(2);
  if (!descriptorPath || !outDir) {
    console.error("usage: descriptor-to-proto.ts <descriptor.json> <out-dir>");
    process.exit(2);
  }
  const source = descriptorPath.split("/").pop() ?? descriptorPath;
  const written = printProtos(descriptorPath, outDir, source);
  console.log(`wrote ${written.length} files under ${outDir}`);
}
