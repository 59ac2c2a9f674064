import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  CredentialsError,
  loadTalosconfig,
  parseTalosconfig,
  resolveContext,
  TalosClient,
  TalosconfigError,
  talosconfigPaths,
} from "../src/index.js";
import { createTalosPki, type TalosPki } from "./helpers/pki.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

let pki: TalosPki;
let dir: string;
beforeAll(async () => {
  pki = await createTalosPki();
  dir = await mkdtemp(join(tmpdir(), "taloskit-cfg-"));
});

function configText(over: Record<string, unknown> = {}, context = "lab"): string {
  const client = pki.issueClient({ roles: ["os:reader"] });
  return JSON.stringify({
    context,
    contexts: {
      lab: {
        endpoints: ["10.5.0.2", "10.5.0.3:50001"],
        nodes: ["10.5.0.2"],
        ca: b64(pki.ca.certPem),
        crt: b64(client.certPem),
        key: b64(client.keyPem),
        ...over,
      },
      other: { endpoints: ["192.0.2.1"] },
    },
  });
}

describe("talosconfig paths", () => {
  it("prefers TALOSCONFIG, then absolute TALOS_HOME, then ~/.talos/config", () => {
    expect(talosconfigPaths({ TALOSCONFIG: "/a/cfg", TALOS_HOME: "/h" }, "/home/u")).toEqual([
      "/a/cfg",
      "/h/config",
      "/home/u/.talos/config",
      "/var/run/secrets/talos.dev/config",
    ]);
    expect(talosconfigPaths({ TALOS_HOME: "relative" }, "/home/u")[0]).toBe(
      "/home/u/.talos/config",
    );
  });

  it("loads from TALOSCONFIG when no path is given", async () => {
    const path = join(dir, "env-config");
    await writeFile(path, configText());
    const { path: used, config } = await loadTalosconfig({ env: { TALOSCONFIG: path } });
    expect(used).toBe(path);
    expect(config.context).toBe("lab");
  });

  it("falls back to TALOS_HOME/config when TALOSCONFIG is unset", async () => {
    const home = await mkdtemp(join(tmpdir(), "taloskit-home-"));
    await writeFile(join(home, "config"), configText());
    const { path } = await loadTalosconfig({ env: { TALOS_HOME: home } });
    expect(path).toBe(join(home, "config"));
  });
});

describe("talosconfig errors", () => {
  it("names a missing file", async () => {
    const missing = join(dir, "nope");
    const err = await loadTalosconfig({ path: missing }).catch((e) => e);
    expect(err).toBeInstanceOf(TalosconfigError);
    expect(err.code).toBe("TALOSCONFIG_NOT_FOUND");
    expect(err.message).toContain(missing);
  });

  it("names the invalid field", () => {
    const err = (() => {
      try {
        parseTalosconfig("context: lab\ncontexts:\n  lab:\n    endpoints: 5\n", "/x/cfg");
      } catch (e) {
        return e as TalosconfigError;
      }
    })();
    expect(err?.code).toBe("TALOSCONFIG_INVALID");
    expect(err?.message).toContain("contexts.lab.endpoints");
    expect(err?.message).toContain("/x/cfg");
  });

  it("rejects invalid YAML and empty files", () => {
    expect(() => parseTalosconfig("a: [", "f")).toThrow(/not valid YAML/);
    expect(() => parseTalosconfig("", "f")).toThrow(/empty/);
  });

  it("reports an unknown context with the known ones", () => {
    const cfg = parseTalosconfig(configText());
    const err = (() => {
      try {
        resolveContext(cfg, { context: "prod", path: "/p" });
      } catch (e) {
        return e as TalosconfigError;
      }
    })();
    expect(err?.code).toBe("TALOSCONFIG_UNKNOWN_CONTEXT");
    expect(err?.message).toContain('"prod"');
    expect(err?.message).toContain("lab, other");
  });

  it("reports bad base64 naming the field and context, without the value", () => {
    const cfg = parseTalosconfig(configText({ crt: "!!!not-base64!!!" }));
    try {
      resolveContext(cfg, { path: "/p" });
      expect.unreachable();
    } catch (e) {
      const err = e as CredentialsError;
      expect(err).toBeInstanceOf(CredentialsError);
      expect(err.code).toBe("CREDENTIALS_INVALID");
      expect(err.field).toBe("crt");
      expect(err.message).toContain('"crt" of context "lab"');
      expect(err.message).not.toContain("not-base64");
    }
  });

  it("reports base64 that holds no PEM", () => {
    const cfg = parseTalosconfig(configText({ ca: b64("hello") }));
    expect(() => resolveContext(cfg)).toThrow(/"ca".*no PEM block/);
  });
});

describe("talosconfig contexts", () => {
  it("resolves the current context, overrides endpoints and nodes, decodes PEM", () => {
    const cfg = parseTalosconfig(configText());
    const ctx = resolveContext(cfg);
    expect(ctx.name).toBe("lab");
    expect(ctx.endpoints).toEqual(["10.5.0.2", "10.5.0.3:50001"]);
    expect(ctx.nodes).toEqual(["10.5.0.2"]);
    expect(ctx.ca).toContain("BEGIN CERTIFICATE");
    expect(ctx.key).toContain("BEGIN ED25519 PRIVATE KEY");
    const over = resolveContext(cfg, { endpoints: ["1.2.3.4"], nodes: ["n1", "n2"] });
    expect(over.endpoints).toEqual(["1.2.3.4"]);
    expect(over.nodes).toEqual(["n1", "n2"]);
    expect(resolveContext(cfg, { context: "other" }).ca).toBeUndefined();
  });

  it("fromTalosconfig fails on a context without endpoints", async () => {
    const path = join(dir, "noendpoints");
    await writeFile(path, configText({ endpoints: [] }));
    const err = await TalosClient.fromTalosconfig({ path }).catch((e) => e);
    expect(err.code).toBe("TALOSCONFIG_NO_ENDPOINTS");
  });

  it("fromTalosconfig checks the credentials before connecting", async () => {
    const path = join(dir, "mismatch");
    const other = pki.issueClient();
    await writeFile(path, configText({ key: b64(other.keyPem) }));
    const err = await TalosClient.fromTalosconfig({ path }).catch((e) => e);
    expect(err).toBeInstanceOf(CredentialsError);
    expect(err.message).toMatch(/"key" of context "lab" .* does not belong/);
  });

  it("fromTalosconfig builds a client with the context's nodes and roles", async () => {
    const path = join(dir, "good");
    await writeFile(path, configText());
    const client = await TalosClient.fromTalosconfig({ path });
    expect(client.nodes).toEqual(["10.5.0.2"]);
    expect(client.roles).toEqual(["os:reader"]);
    expect(client.endpoints).toEqual(["10.5.0.2:50000", "10.5.0.3:50001"]);
    client.close();
  });
});
