// taloskit's generated configs judged by Talos's own code, per release: (1) the
// release's loader and Validate accept them (metal mode), (2) they are what the
// release's own generator makes from the same inputs (the same documents, field
// paths and non-secret values; keys and certificates of the same algorithm, subject
// and lifetime, differing only in their random material), and (3) a secrets bundle
// written by taloskit is loaded by Talos's --with-secrets loader, whose configs from
// it are then equal to taloskit's, value for value.
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { createRequire } from "node:module";
import {
  type GeneratedConfig,
  generateConfig,
  generateSecrets,
  parseSecrets,
  printSecrets,
} from "taloskit";
import { afterAll, describe, expect, it } from "vitest";
import type * as YamlLib from "../../packages/taloskit/node_modules/yaml/dist/index.js";
import type * as X509Lib from "../../packages/testing/node_modules/@peculiar/x509/build/index.d.ts";
import { closeOracles, machinery } from "../oracles.js";

// yaml is a dependency of the taloskit package, not of the repository root.
const { parse, parseAllDocuments } = createRequire(
  new URL("../../packages/taloskit/package.json", import.meta.url),
)("yaml") as typeof YamlLib;

// The simulator's X.509 reader reads extensions node:crypto does not show (key usage).
const x509 = createRequire(new URL("../../packages/testing/package.json", import.meta.url))(
  "@peculiar/x509",
) as typeof X509Lib;

afterAll(closeOracles);

/** A certificate's extensions: which, whether critical, and their values but for key ids. */
function extensions(pem: string): string[] {
  return new x509.X509Certificate(pem).extensions.map((e) => {
    let value = "";
    if (e instanceof x509.KeyUsagesExtension) value = `usages=${e.usages}`;
    else if (e instanceof x509.ExtendedKeyUsageExtension) value = `usages=${e.usages.join(",")}`;
    else if (e instanceof x509.BasicConstraintsExtension)
      value = `ca=${e.ca} pathLength=${e.pathLength}`;
    return `${e.type} critical=${e.critical} ${value}`;
  });
}

const VERSIONS = ["1.12", "1.13", "1.14"] as const;
const ROLES = ["controlplane", "worker"] as const;
/** Inputs as talosctl gen config takes them: its defaults, and other values. */
const INPUTS = [
  { clusterName: "demo", endpoint: "https://10.5.0.2:6443" },
  { clusterName: "lab-1", endpoint: "https://cp.example.org:443", kubernetesVersion: "1.34.2" },
] as const;

type Doc = Record<string, unknown>;
const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as Doc);
const docId = (d: Doc) =>
  d.kind ? `${String(d.kind)}${d.name ? `/${String(d.name)}` : ""}` : "v1alpha1";

/** Leaves of a document by dotted path (empty maps and lists are leaves). */
function flatten(value: unknown, path = "", out = new Map<string, unknown>()) {
  if (value !== null && typeof value === "object" && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) flatten(v, path ? `${path}.${k}` : k, out);
  } else out.set(path, value);
  return out;
}

/** PEM text of a value: PEM itself, or base64 of PEM as v1alpha1 carries it. */
function pemOf(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  if (value.startsWith("-----BEGIN ")) return value;
  if (!/^[A-Za-z0-9+/]+=*$/.test(value) || value.length < 40) return undefined;
  const text = Buffer.from(value, "base64").toString("utf8");
  return text.startsWith("-----BEGIN ") ? text : undefined;
}

const DAY = 86_400_000;

/** What a key or certificate is, without its random material. */
function describePem(pem: string): string {
  const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)?.[1] ?? "";
  if (label === "CERTIFICATE") {
    const c = new X509Certificate(pem);
    const key = c.publicKey;
    const days = Math.round((Date.parse(c.validTo) - Date.parse(c.validFrom)) / DAY);
    const selfSigned = c.checkIssued(c) && c.verify(key);
    return `cert subject=${c.subject} issuer=${c.issuer} key=${key.asymmetricKeyType}/${key.asymmetricKeyDetails?.namedCurve ?? ""} days=${days} selfSigned=${selfSigned} extensions=${extensions(pem).join("; ")}`;
  }
  const key = createPrivateKey(pem.replace(/ED25519 PRIVATE KEY/g, "PRIVATE KEY"));
  const d = key.asymmetricKeyDetails;
  return `key label=${label} ${key.asymmetricKeyType}/${d?.namedCurve ?? d?.modulusLength ?? ""}`;
}

/** A value with its random material replaced by what kind of value it is. */
function shape(value: unknown): unknown {
  const pem = pemOf(value);
  if (pem) return describePem(pem);
  if (typeof value !== "string") return value;
  if (/^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(value)) return "<token>";
  if (/^[A-Za-z0-9+/_-]{43}=$/.test(value)) return "<32 random bytes, base64>";
  return value;
}

/** The config reduced to its documents, paths and non-random values. */
function structure(text: string) {
  return docs(text).map((d) => ({
    id: docId(d),
    fields: Object.fromEntries([...flatten(d)].map(([p, v]) => [p, shape(v)])),
  }));
}

/** Every certificate next to its key belongs with it (same public key). */
function checkPairs(text: string): number {
  let pairs = 0;
  for (const d of docs(text)) {
    for (const [path, value] of flatten(d)) {
      const m = /^(.*)\.(crt|cert)$/.exec(path);
      const keyPath = m ? `${m[1]}.key` : undefined;
      const key = keyPath ? pemOf(flatten(d).get(keyPath)) : undefined;
      const crt = pemOf(value);
      if (!crt || !key) continue;
      const certKey = new X509Certificate(crt).publicKey.export({ type: "spki", format: "der" });
      const own = createPublicKey(
        createPrivateKey(key.replace(/ED25519 PRIVATE KEY/g, "PRIVATE KEY")),
      ).export({ type: "spki", format: "der" });
      expect(certKey.equals(own), `${docId(d)} ${path}`).toBe(true);
      pairs++;
    }
  }
  return pairs;
}

/** The client certificate of a talosconfig's current context. */
function clientCert(talosconfig: string): string {
  const tc = parse(talosconfig) as { context: string; contexts: Record<string, { crt: string }> };
  return pemOf(tc.contexts[tc.context]?.crt) ?? "";
}

/** Paths of the private keys a config holds. */
function privateKeys(text: string): string[] {
  return docs(text).flatMap((d) =>
    [...flatten(d)]
      .filter(([, v]) => /PRIVATE KEY-----/.test(pemOf(v) ?? ""))
      .map(([p]) => `${docId(d)} ${p}`),
  );
}

/** The talosconfig's client certificate: issued by the OS CA of the configs, role os:admin. */
function checkTalosconfig(talosconfig: string, config: string, context: string) {
  const tc = parse(talosconfig) as {
    context: string;
    contexts: Record<string, Record<string, string>>;
  };
  expect(tc.context).toBe(context);
  const ctx = tc.contexts[context] ?? {};
  const machine = docs(config)[0]?.machine as { ca: { crt: string } };
  const osCa = new X509Certificate(pemOf(machine.ca.crt) ?? "");
  expect(pemOf(ctx.ca)).toBe(osCa.toString());
  const client = new X509Certificate(pemOf(ctx.crt) ?? "");
  expect(client.checkIssued(osCa) && client.verify(osCa.publicKey)).toBe(true);
  expect(client.subject).toBe("O=os:admin");
  expect(client.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
  expect(describePem(pemOf(ctx.key) ?? "")).toBe("key label=ED25519 PRIVATE KEY ed25519/");
}

describe.each(VERSIONS)("gen config for Talos %s", (version) => {
  const oracle = machinery(version);
  const ours = new Map<(typeof INPUTS)[number], GeneratedConfig>();
  const made = (input: (typeof INPUTS)[number]) => {
    let g = ours.get(input);
    if (!g) {
      g = generateConfig({ ...input, talosVersion: version });
      ours.set(input, g);
    }
    return g;
  };

  describe.each(ROLES)("%s", (role) => {
    it.each(INPUTS)(
      "is accepted by Talos's loader and Validate, as its own is ($clusterName)",
      async (input) => {
        const text = made(input)[role];
        const [mine, theirs] = await Promise.all([
          oracle.validate(text, { mode: "metal" }),
          oracle
            .generate(role, input)
            .then((g) => oracle.validate(g.config ?? "", { mode: "metal" })),
        ]);
        expect(mine.error ?? "").toBe("");
        expect(mine.ok).toBe(true);
        expect(mine.warnings ?? []).toEqual(theirs.warnings ?? []);
      },
    );

    it.each(INPUTS)(
      "is what Talos's generator makes, but for random material ($clusterName)",
      async (input) => {
        const g = made(input);
        const theirs = await oracle.generate(role, input);
        expect(theirs.ok, theirs.error).toBe(true);
        expect(structure(g[role])).toEqual(structure(theirs.config ?? ""));
        // a control plane holds its CAs' keys; a worker holds no private key at all
        expect(checkPairs(g[role]) > 0).toBe(role === "controlplane");
        if (role === "worker") expect(privateKeys(g[role])).toEqual([]);
        checkTalosconfig(g.talosconfig, g[role], input.clusterName);
      },
    );
  });

  it("writes a secrets bundle Talos's --with-secrets loads, and its configs from it equal ours", async () => {
    const input = INPUTS[0];
    const text = printSecrets(generateSecrets({ talosVersion: version }));
    const g = generateConfig({ ...input, talosVersion: version, secrets: parseSecrets(text) });
    for (const role of ROLES) {
      const theirs = await oracle.generate(role, { ...input, secrets: text });
      expect(theirs.ok, theirs.error).toBe(true);
      expect(docs(g[role])).toEqual(docs(theirs.config ?? ""));
      const verdict = await oracle.validate(g[role], { mode: "metal" });
      expect(verdict.ok, verdict.error).toBe(true);
      // Talos's own talosconfig from our bundle: same CA, and a client cert it signed with our CA key.
      checkTalosconfig(theirs.talosconfig ?? "", g[role], input.clusterName);
      // and its client certificate is shaped as ours
      expect(describePem(clientCert(g.talosconfig))).toEqual(
        describePem(clientCert(theirs.talosconfig ?? "")),
      );
    }
    checkTalosconfig(g.talosconfig, g.controlplane, input.clusterName);
  });
});
