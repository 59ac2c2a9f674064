// The library behind `taloskit gen`: secrets bundles that survive a round trip
// through their file, CAs and client certificates shaped as Talos makes them, and
// typed refusals of inputs Talos would refuse.
import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigPatchError } from "../../src/config/errors.js";
import {
  generateClientCertificate,
  generateConfig,
  generateSecrets,
  generateVersion,
  parseSecrets,
  printSecrets,
} from "../../src/config/generate/index.js";

// ECDSA service account keys keep these tests fast (RSA 4096 takes about a second).
const fast = () => generateSecrets({ serviceAccountKey: "ecdsa" });

describe("generateSecrets", () => {
  it("makes CAs of Talos's algorithms and subjects, valid ten years", () => {
    const b = fast();
    const expected = {
      etcd: ["O=etcd", "ec"],
      k8s: ["O=kubernetes", "ec"],
      k8sAggregator: ["", "ec"],
      os: ["O=talos", "ed25519"],
    } as const;
    for (const [name, [subject, type]] of Object.entries(expected)) {
      const c = new X509Certificate(b.certs[name as keyof typeof expected].crt);
      expect(c.subject ?? "", name).toBe(subject);
      expect(c.ca).toBe(true);
      expect(c.publicKey.asymmetricKeyType).toBe(type);
      expect(c.verify(c.publicKey)).toBe(true);
      expect((Date.parse(c.validTo) - Date.parse(c.validFrom)) / 3_600_000).toBe(87_600);
    }
    expect(b.secrets.bootstrapToken).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(Buffer.from(b.secrets.secretboxEncryptionSecret ?? "", "base64")).toHaveLength(32);
  });

  it("encodes the cluster ID as each release does (URL-safe base64 before 1.14)", () => {
    for (let i = 0; i < 20; i++) {
      expect(
        generateSecrets({ talosVersion: "1.13", serviceAccountKey: "ecdsa" }).cluster.id,
      ).not.toMatch(/[+/]/);
      expect(
        generateSecrets({ talosVersion: "1.14", serviceAccountKey: "ecdsa" }).cluster.id,
      ).not.toMatch(/[-_]/);
    }
  });

  it("survives printSecrets and parseSecrets unchanged", () => {
    const b = fast();
    expect(parseSecrets(printSecrets(b))).toEqual(b);
  });

  it("issues client certificates the OS CA signed, with the roles as Organization", () => {
    const b = fast();
    const client = generateClientCertificate(b, ["os:reader"]);
    const c = new X509Certificate(client.crt);
    const ca = new X509Certificate(b.certs.os.crt);
    expect(c.checkIssued(ca) && c.verify(ca.publicKey)).toBe(true);
    expect(c.subject).toBe("O=os:reader");
    expect(c.ca).toBe(false);
    expect(client.key).toMatch(/^-----BEGIN ED25519 PRIVATE KEY-----/);
  });
});

describe("refusals", () => {
  it.each(["1.11", "2.0", "v1", "latest"])("talos version %s", (v) => {
    expect(() => generateVersion(v)).toThrow(ConfigPatchError);
  });

  it("names the field of a broken secrets file, never a value", () => {
    const text = printSecrets(fast()).replace(/(k8s:\n\s+crt: )\S+/, "$1bm90IGEgcGVt");
    const err = (() => {
      try {
        parseSecrets(text, "s.yaml");
      } catch (e) {
        return e as ConfigPatchError;
      }
    })();
    expect(err).toBeInstanceOf(ConfigPatchError);
    expect(err?.message).toBe("s.yaml: certs.k8s.crt is not a base64-encoded PEM block");
  });

  it.each([
    ["http://10.5.0.2:6443", /scheme https/],
    ["10.5.0.2", /is not a URL/],
  ])("endpoint %s", (endpoint, message) => {
    expect(() => generateConfig({ clusterName: "demo", endpoint, secrets: fast() })).toThrow(
      message,
    );
  });
});
