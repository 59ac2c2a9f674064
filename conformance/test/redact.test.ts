// Differential test of taloskit's secret redaction against Talos's own (the config
// container's RedactSecrets, 1.10 to 1.14): a generated config with a secret planted
// in every field some release marks sensitive, plus the ones taloskit masks on its
// own (extension service environment). Every value Talos hides must be hidden by
// taloskit's masking and by a redacted diff; taloskit may hide more.

import { createRequire } from "node:module";
import { maskSecrets, parseConfig, patchConfig, printConfig, redactDiff } from "taloskit";
import { afterAll, describe, expect, it } from "vitest";
import { closeOracles, machinery, ORACLE_VERSIONS, type OracleVersion } from "../oracles.js";

afterAll(closeOracles);

// yaml is a dependency of the taloskit package, not of the repository root
const yaml = createRequire(new URL("../../packages/taloskit/package.json", import.meta.url))(
  "yaml",
) as { parseAllDocuments(text: string): { toJS(): unknown }[] };

const minor = (v: OracleVersion) => Number(v.split(".")[1]);
const pem = (label: string, body: string) =>
  Buffer.from(`-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`).toString("base64");

/** Secrets planted in a patch, by name; each is distinct and found only where planted. */
function planted(v: OracleVersion): { patch: string; secrets: Record<string, string> } {
  const s = (name: string) => `planted${name}Secret${v.replace(".", "")}`;
  const secrets: Record<string, string> = {};
  const put = (name: string, encode: (x: string) => string = (x) => x) => {
    const value = encode(s(name));
    secrets[name] = value;
    return value;
  };
  const pemKey = (x: string) => pem("EC PRIVATE KEY", x);
  const docs = [
    `machine:
  registries:
    config:
      reg.example.com:
        auth:
          username: someone
          password: ${put("RegistryPassword")}
          auth: ${put("RegistryAuth")}
          identityToken: ${put("RegistryIdentityToken")}
        tls:
          clientIdentity:
            crt: ${pem("CERTIFICATE", "Y3J0")}
            key: ${put("RegistryClientKey", pemKey)}
  network:
    interfaces:
      - interface: eth0
        vip:
          ip: 10.5.0.10
          hcloud:
            apiToken: ${put("HCloudToken")}
        vlans:
          - vlanId: 5
            vip:
              ip: 10.5.0.11
              equinixMetal:
                apiToken: ${put("EquinixToken")}
      - interface: wg0
        wireguard:
          privateKey: ${put("WireguardPrivateKey")}
  systemDiskEncryption:
    state:
      provider: luks2
      keys:
        - slot: 0
          static:
            passphrase: ${put("StatePassphrase")}`,
    `apiVersion: v1alpha1
kind: SideroLinkConfig
apiUrl: https://siderolink.example.com:443?grpc_tunnel=true&jointoken=${put("JoinToken")}${
      minor(v) >= 13 ? `\nuniqueToken: ${put("UniqueToken")}` : ""
    }`,
    `apiVersion: v1alpha1
kind: ExtensionServiceConfig
name: tailscale
environment:
  - TS_AUTHKEY=${put("TailscaleAuthKey")}`,
    `apiVersion: v1alpha1
kind: UserVolumeConfig
name: data
provisioning:
  diskSelector:
    match: "!system_disk"
encryption:
  provider: luks2
  keys:
    - slot: 0
      static:
        passphrase: ${put("UserVolumePassphrase")}`,
  ];
  if (minor(v) >= 11) {
    docs.push(
      `apiVersion: v1alpha1
kind: VolumeConfig
name: EPHEMERAL
encryption:
  provider: luks2
  keys:
    - slot: 0
      static:
        passphrase: ${put("EphemeralPassphrase")}`,
      `apiVersion: v1alpha1
kind: RawVolumeConfig
name: raw
provisioning:
  diskSelector:
    match: "!system_disk"
encryption:
  provider: luks2
  keys:
    - slot: 0
      static:
        passphrase: ${put("RawVolumePassphrase")}`,
    );
  }
  if (minor(v) >= 12) {
    docs.push(
      `apiVersion: v1alpha1
kind: RegistryAuthConfig
name: ghcr.io
username: someone
password: ${put("CriPassword")}
auth: ${put("CriAuth")}
identityToken: ${put("CriIdentityToken")}`,
      `apiVersion: v1alpha1
kind: WireguardConfig
name: wg1
privateKey: ${put("WireguardDocPrivateKey")}
peers:
  - publicKey: cHVibGlj
    presharedKey: ${put("WireguardDocPresharedKey")}
    allowedIPs:
      - 10.6.0.0/16`,
    );
  }
  if (minor(v) >= 13) {
    docs.push(`apiVersion: v1alpha1
kind: HCloudVIPConfig
name: 10.5.0.12
link: eth0
apiToken: ${put("HCloudDocToken")}`);
  }
  return { patch: docs.join("\n---\n"), secrets };
}

/** Every scalar of a YAML stream by document index and path. */
function leaves(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) walk(x, `${path}.${i}`);
    } else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
    } else if (v !== null && v !== undefined) out.set(path, String(v));
  };
  yaml.parseAllDocuments(text).forEach((d, i) => {
    walk(d.toJS(), `#${i}`);
  });
  return out;
}

/** The parts of each value Talos's redaction changed that its redacted value no longer holds. */
function hiddenByTalos(normalized: string, redacted: string): Set<string> {
  const after = leaves(redacted);
  const hidden = new Set<string>();
  for (const [path, value] of leaves(normalized)) {
    const red = after.get(path);
    if (red === value) continue;
    for (const run of value.match(/[A-Za-z0-9+/=_.-]{8,}/g) ?? []) {
      // a PEM block's armour lines are no secret
      if (!red?.includes(run) && !/^-+(BEGIN|END)$/.test(run)) hidden.add(run);
    }
  }
  return hidden;
}

describe.each(ORACLE_VERSIONS)("Talos %s", (v) => {
  it("hides every value Talos's RedactSecrets hides, and every planted secret", async () => {
    const o = machinery(v);
    const gen = await o.generate("controlplane");
    expect(gen.ok, gen.error).toBe(true);
    const base = gen.config as string;
    const { patch, secrets } = planted(v);
    const merged = patchConfig(base, [patch]);
    const normalized = await o.normalize(merged.text);
    expect(normalized.ok, normalized.error).toBe(true);
    const redacted = await o.redact(merged.text);
    expect(redacted.ok, redacted.error).toBe(true);
    const hidden = hiddenByTalos(normalized.config as string, redacted.config as string);
    // the generated PKI keys and tokens, at least
    expect(hidden.size).toBeGreaterThan(8);

    const masked = maskSecrets(merged.text, merged.text).after;
    const diff = redactDiff(merged.diff as NonNullable<typeof merged.diff>, {
      before: printConfig(parseConfig(base)),
      after: merged.text,
    });
    const outputs = {
      masked,
      unified: diff.unified,
      changes: JSON.stringify(diff.changes),
    };
    // the planted ones must be in the unredacted text, or the test proves nothing
    for (const s of Object.values(secrets)) expect(merged.text).toContain(s);
    for (const [name, text] of Object.entries(outputs)) {
      const leaked = [...hidden, ...Object.values(secrets)].filter((s) => text.includes(s));
      expect(leaked, `${name} shows secrets`).toEqual([]);
    }
  });
});
