// `taloskit gen secrets|config`: the files it writes, what they hold, and how it
// refuses (existing files, bad versions, bad patches) with one typed line.
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseTalosconfig } from "@taloskit/client";
import { afterAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { validateConfig } from "../../src/config/validate.js";
import { runTaloskitMain } from "../helpers/cli.js";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "taloskit-gen-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const unb64 = (s: string) => Buffer.from(s, "base64").toString("utf8");
/** A value at a dotted path of parsed YAML. */
const get = (value: unknown, path: string): unknown =>
  path.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], value);
const docs = (text: string) =>
  parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>);

describe("taloskit gen config", () => {
  it("writes controlplane.yaml, worker.yaml and a talosconfig whose admin certificate chains to the OS CA", async () => {
    const dir = tempDir();
    const r = await runTaloskitMain([
      "gen",
      "config",
      "demo",
      "https://10.5.0.2:6443",
      "--output-dir",
      dir,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const cp = readFileSync(join(dir, "controlplane.yaml"), "utf8");
    const worker = readFileSync(join(dir, "worker.yaml"), "utf8");
    for (const text of [cp, worker]) {
      const v = validateConfig(text, "1.14");
      expect(v.issues).toEqual([]);
    }
    const kinds = docs(cp).map((d) => d.kind ?? d.version);
    expect(kinds).toContain("KubeClusterConfig");
    expect(docs(cp).find((d) => d.kind === "KubeClusterConfig")).toMatchObject({
      clusterName: "demo",
      endpoint: "https://10.5.0.2:6443",
    });

    const talosconfig = readFileSync(join(dir, "talosconfig"), "utf8");
    const parsed = parseTalosconfig(talosconfig);
    expect(parsed.context).toBe("demo");
    const ctx = (parse(talosconfig) as { contexts: Record<string, { ca: string; crt: string }> })
      .contexts.demo;
    const osCa = new X509Certificate(unb64(get(docs(cp)[0], "machine.ca.crt") as string));
    expect(unb64(ctx?.ca ?? "")).toBe(osCa.toString());
    const client = new X509Certificate(unb64(ctx?.crt ?? ""));
    expect(client.checkIssued(osCa)).toBe(true);
    expect(client.verify(osCa.publicKey)).toBe(true);
    expect(client.subject).toBe("O=os:admin");
    expect(osCa.publicKey.asymmetricKeyType).toBe("ed25519");
    expect(osCa.ca).toBe(true);
  });

  it("needs --force to overwrite, and names the file it would replace", async () => {
    const dir = tempDir();
    const args = [
      "gen",
      "config",
      "demo",
      "https://10.5.0.2:6443",
      "--output-dir",
      dir,
      "--talos-version",
      "1.13",
    ];
    expect((await runTaloskitMain(args)).code).toBe(0);
    const before = readFileSync(join(dir, "controlplane.yaml"), "utf8");
    const again = await runTaloskitMain(args);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `taloskit: ${join(dir, "controlplane.yaml")} already exists, use --force to overwrite\n`,
    );
    expect(readFileSync(join(dir, "controlplane.yaml"), "utf8")).toBe(before);
    const forced = await runTaloskitMain([...args, "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(join(dir, "controlplane.yaml"), "utf8")).not.toBe(before);
  });

  it("resolves relative paths against the user's directory (pnpm's INIT_CWD)", async () => {
    const dir = tempDir();
    const saved = { INIT_CWD: process.env.INIT_CWD, event: process.env.npm_lifecycle_event };
    // As `pnpm taloskit` runs it: from the workspace root, the user's directory in INIT_CWD.
    process.env.INIT_CWD = dir;
    process.env.npm_lifecycle_event = "taloskit";
    try {
      const s = await runTaloskitMain(["gen", "secrets", "-o", "s.yaml"]);
      expect(s.code, s.stderr).toBe(0);
      const r = await runTaloskitMain([
        "gen",
        "config",
        "demo",
        "https://10.5.0.2:6443",
        "--with-secrets",
        "s.yaml",
        "--output-dir",
        "out",
        "--talos-version",
        "v1.12.3",
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(join(dir, "out", "talosconfig"));
      const secrets = parse(readFileSync(join(dir, "s.yaml"), "utf8"));
      const cp = docs(readFileSync(join(dir, "out", "controlplane.yaml"), "utf8"))[0];
      expect(get(cp, "cluster.id")).toBe(get(secrets, "cluster.id"));
      expect(get(cp, "cluster.token")).toBe(get(secrets, "secrets.bootstraptoken"));
      expect(get(cp, "machine.token")).toBe(get(secrets, "trustdinfo.token"));
      expect(get(cp, "cluster.ca.crt")).toBe(get(secrets, "certs.k8s.crt"));
      expect(get(cp, "machine.ca.key")).toBe(get(secrets, "certs.os.key"));
      expect(get(cp, "machine.network")).toEqual({});
    } finally {
      for (const [key, value] of [
        ["INIT_CWD", saved.INIT_CWD],
        ["npm_lifecycle_event", saved.event],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it("applies --config-patch from a file and inline, per role", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "p.yaml"), "machine:\n  install:\n    disk: /dev/vda\n");
    const r = await runTaloskitMain([
      "gen",
      "config",
      "demo",
      "https://10.5.0.2:6443",
      "--output-dir",
      dir,
      "--talos-version",
      "1.13",
      "--config-patch",
      `@${join(dir, "p.yaml")}`,
      "--config-patch-worker",
      '{"machine":{"nodeLabels":{"role":"worker"}}}',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const cp = docs(readFileSync(join(dir, "controlplane.yaml"), "utf8"))[0];
    const worker = docs(readFileSync(join(dir, "worker.yaml"), "utf8"))[0];
    expect(get(cp, "machine.install.disk")).toBe("/dev/vda");
    expect(get(worker, "machine.install.disk")).toBe("/dev/vda");
    expect(get(worker, "machine.nodeLabels")).toEqual({ role: "worker" });
    expect(get(cp, "machine.nodeLabels")).not.toHaveProperty("role");
  });

  it.each([
    [
      ["--talos-version", "1.9"],
      /^taloskit: talos version "1.9" is not one taloskit generates configs for/,
    ],
    [["--talos-version", "banana"], /^taloskit: talos version "banana"/],
    [["--kubernetes-version", "latest"], /^taloskit: kubernetes version "latest"/],
    [["--config-patch", "machine: [unclosed"], /^taloskit: .*/],
    [
      ["--config-patch", "@/nonexistent/p.yaml"],
      /^taloskit: --config-patch: cannot read \/nonexistent\/p.yaml$/,
    ],
  ])("refuses %j with one line", async (extra, message) => {
    const dir = tempDir();
    const r = await runTaloskitMain([
      "gen",
      "config",
      "demo",
      "https://10.5.0.2:6443",
      "--output-dir",
      dir,
      ...extra,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr.trimEnd()).toMatch(message);
  });

  it("refuses an endpoint without https://", async () => {
    const r = await runTaloskitMain([
      "gen",
      "config",
      "demo",
      "10.5.0.2:6443",
      "--output-dir",
      tempDir(),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^taloskit: cluster endpoint "10.5.0.2:6443"/);
  });
});

describe("taloskit gen secrets", () => {
  it("prints the bundle on stdout with -o -, in talosctl's layout", async () => {
    const r = await runTaloskitMain(["gen", "secrets", "-o", "-"]);
    expect(r.code, r.stderr).toBe(0);
    const b = parse(r.stdout);
    expect(Object.keys(b as object)).toEqual(["cluster", "secrets", "trustdinfo", "certs"]);
    expect(Object.keys(get(b, "certs") as object)).toEqual([
      "etcd",
      "k8s",
      "k8saggregator",
      "k8sserviceaccount",
      "os",
    ]);
    expect(unb64(get(b, "certs.os.key") as string)).toMatch(/^-----BEGIN ED25519 PRIVATE KEY-----/);
    expect(unb64(get(b, "certs.k8s.key") as string)).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    expect(unb64(get(b, "certs.k8sserviceaccount.key") as string)).toMatch(
      /^-----BEGIN RSA PRIVATE KEY-----/,
    );
    expect(get(b, "secrets.bootstraptoken")).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  });

  it("refuses a malformed secrets file, naming the field and not its value", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "bad.yaml"),
      "cluster: {id: a, secret: b}\nsecrets: {bootstraptoken: nope}\n",
    );
    const r = await runTaloskitMain([
      "gen",
      "config",
      "demo",
      "https://10.5.0.2:6443",
      "--output-dir",
      dir,
      "--with-secrets",
      join(dir, "bad.yaml"),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/secrets\.bootstraptoken is not a token/);
    expect(r.stderr).not.toContain("nope");
  });
});
