// Validation of machine configs against the JSON Schema of a target Talos version.
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import { type ConfigDocument, parseConfig } from "./documents.js";
import { type ConfigIssue, ConfigPatchError } from "./errors.js";
import { CONFIG_SCHEMAS } from "./generated/index.js";
import { type ConfigVersion, configVersion, kindInfo } from "./versions.js";

const validators = new Map<string, { ajv: Ajv2020; id: string }>();

function ajvFor(version: ConfigVersion): { ajv: Ajv2020; id: string } {
  let entry = validators.get(version);
  if (!entry) {
    const schema = CONFIG_SCHEMAS[version] as Record<string, unknown>;
    const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
    ajv.addSchema(schema);
    entry = { ajv, id: String(schema.$id) };
    validators.set(version, entry);
  }
  return entry;
}

function validatorFor(version: ConfigVersion, def: string): ValidateFunction {
  const { ajv, id } = ajvFor(version);
  const fn = ajv.getSchema(`${id}#/$defs/${def}`);
  if (!fn) throw new Error(`schema of ${version} has no definition ${def}`);
  return fn;
}

function dotted(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"))
    .join(".");
}

function issueOf(document: string, e: ErrorObject): ConfigIssue & { missing?: string } {
  let path = dotted(e.instancePath);
  let message = e.message ?? e.keyword;
  if (e.keyword === "additionalProperties") {
    const extra = String((e.params as { additionalProperty?: string }).additionalProperty);
    path = path ? `${path}.${extra}` : extra;
    message = `unknown field "${extra}"`;
  } else if (e.keyword === "enum") {
    const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues ?? [];
    message = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}`;
  }
  const missing = (e.params as { missingProperty?: string }).missingProperty;
  return { document, path, rule: e.keyword, message, ...(missing ? { missing } : {}) };
}

/** Result of validating a config. */
export interface ValidationResult {
  valid: boolean;
  /** Talos version the config was checked against (`major.minor`). */
  talosVersion: ConfigVersion;
  issues: ConfigIssue[];
}

/** Options of {@link validateDocuments}. */
export interface ValidateOptions {
  /**
   * Validate patch documents: a patch is partial, so a missing required field is not an
   * error unless it is a document's identity (`apiVersion`, `kind`, `name`).
   */
  partial?: boolean;
}

const IDENTITY = new Set(["apiVersion", "kind", "name"]);

function keep(issue: ConfigIssue & { missing?: string }, partial: boolean): boolean {
  if (!partial || issue.rule !== "required") return true;
  return issue.path === "" && IDENTITY.has(issue.missing ?? "");
}

/** Validates plain documents (one object per YAML document) for a Talos version. */
export function validateDocuments(
  documents: readonly unknown[],
  talosVersion: string,
  options: ValidateOptions = {},
): ValidationResult {
  const version = configVersion(talosVersion);
  const issues: ConfigIssue[] = [];
  documents.forEach((doc, i) => {
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
      issues.push({
        document: `#${i + 1}`,
        path: "",
        rule: "type",
        message: "a document must be a mapping",
      });
      return;
    }
    for (const issue of documentIssues(withoutNulls(doc) as Record<string, unknown>, version)) {
      if (!keep(issue, options.partial === true)) continue;
      const { missing: _missing, ...plain } = issue;
      issues.push(plain);
    }
  });
  return { valid: issues.length === 0, talosVersion: version, issues };
}

/** A null field means an absent one to Talos (a nil pointer), so it is dropped first. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, withoutNulls(v)]),
  );
}

function documentIssues(
  doc: Record<string, unknown>,
  version: ConfigVersion,
): (ConfigIssue & { missing?: string })[] {
  const kind = doc.kind;
  const id =
    kind === undefined || kind === null
      ? "/v1alpha1"
      : `${String(doc.apiVersion ?? "")}/${String(kind)}${doc.name ? `/${String(doc.name)}` : ""}`;
  const info = kindInfo(
    kind === undefined || kind === null
      ? { apiVersion: "", kind: "v1alpha1", id }
      : { apiVersion: String(doc.apiVersion ?? ""), kind: String(kind), id },
    version,
  );
  if (!info) {
    return [
      {
        document: id,
        path: "kind",
        rule: "unknownKind",
        message: `document kind "${String(kind)}" (apiVersion "${String(doc.apiVersion ?? "")}") is not known to Talos ${version}`,
      },
    ];
  }
  const validate = validatorFor(version, info.def);
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => issueOf(id, e));
}

/** Validates a config text for a Talos version; YAML errors throw, schema problems are issues. */
export function validateConfig(
  text: string,
  talosVersion: string,
  options: ValidateOptions = {},
): ValidationResult {
  const docs: ConfigDocument[] = parseConfig(text);
  return validateDocuments(
    docs.map((d) => d.doc.toJS()),
    talosVersion,
    options,
  );
}

/** Like {@link validateConfig}, but throws CONFIG_INVALID naming the first problems. */
export function assertValidConfig(text: string, talosVersion: string): void {
  const result = validateConfig(text, talosVersion);
  if (result.valid) return;
  throw invalid(result);
}

/** The CONFIG_INVALID error for a failed validation. */
export function invalid(result: ValidationResult): ConfigPatchError {
  const shown = result.issues
    .slice(0, 5)
    .map((i) => `document '${i.document}' path '${i.path}' (${i.rule}): ${i.message}`);
  const more = result.issues.length > 5 ? `; and ${result.issues.length - 5} more` : "";
  const first = result.issues[0];
  return new ConfigPatchError(
    "CONFIG_INVALID",
    `config is not valid for Talos ${result.talosVersion}: ${shown.join("; ")}${more}`,
    {
      issues: result.issues,
      ...(first ? { document: first.document, path: first.path } : {}),
    },
  );
}
