// The protobuf descriptor set in its JSON form (the shape `buf build -o x.json`
// writes and `toJson(FileDescriptorSetSchema, …)` returns), shared by the proto
// printer and the wire check.
import { readFileSync } from "node:fs";
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

export interface FileDescriptor {
  name: string;
  package?: string;
  dependency?: string[];
  messageType?: MessageDescriptor[];
  enumType?: EnumDescriptor[];
  service?: ServiceDescriptor[];
  extension?: FieldDescriptor[];
  syntax?: string;
}

export interface MessageDescriptor {
  name: string;
  field?: FieldDescriptor[];
  nestedType?: MessageDescriptor[];
  enumType?: EnumDescriptor[];
  oneofDecl?: { name: string }[];
  reservedRange?: { start: number; end: number }[];
  reservedName?: string[];
  options?: Options & { mapEntry?: boolean };
}

export interface FieldDescriptor {
  name: string;
  number: number;
  label: "LABEL_OPTIONAL" | "LABEL_REPEATED" | "LABEL_REQUIRED";
  type: string;
  typeName?: string;
  extendee?: string;
  jsonName?: string;
  oneofIndex?: number;
  proto3Optional?: boolean;
  options?: Options;
}

export interface EnumDescriptor {
  name: string;
  value?: { name: string; number: number; options?: Options }[];
  options?: Options & { allowAlias?: boolean };
}

export interface ServiceDescriptor {
  name: string;
  method?: MethodDescriptor[];
  options?: Options;
}

export interface MethodDescriptor {
  name: string;
  inputType: string;
  outputType: string;
  clientStreaming?: boolean;
  serverStreaming?: boolean;
  options?: Options;
}

/** Options as JSON: `deprecated`, and custom options under keys like `[common.remove_deprecated_field]`. */
export type Options = { deprecated?: boolean } & Record<string, unknown>;

/** Reads a descriptor set from JSON or from the binary wire form (.binpb, .pb, .bin). */
export function readDescriptorSet(path: string): FileDescriptor[] {
  const bytes = readFileSync(path);
  const json = path.endsWith(".json")
    ? JSON.parse(bytes.toString("utf8"))
    : toJson(FileDescriptorSetSchema, fromBinary(FileDescriptorSetSchema, bytes));
  if (!json || !Array.isArray(json.file)) {
    throw new Error(`${path} is not a descriptor set: it has no "file" list`);
  }
  return json.file as FileDescriptor[];
}

/** Well-known types ship with every protobuf compiler; we never write them ourselves. */
export function isWellKnownType(file: FileDescriptor): boolean {
  return file.name.startsWith("google/protobuf/");
}
