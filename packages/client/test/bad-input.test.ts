// Bad input to the client's parsers gets a typed error that names what is
// wrong, and takes time linear in its size.
import { describe, expect, it } from "vitest";
import {
  CredentialsError,
  normalizeEndpoint,
  parseCertificates,
  spkiFingerprint,
  TalosClient,
  TalosError,
} from "../src/index.js";

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

describe("endpoints", () => {
  it.each([
    ["[::1", /neither an IP address nor a host name/],
    ["[::1]:x", /neither an IP address nor a host name/],
    ["[10.0.0.1]:50000", /not an IPv6 address/],
    ["10.0.0.1\n:50000", /whitespace or control/],
    ["node one", /whitespace or control/],
    ["host:0", /port/],
    ["host:70000", /port/],
    ["https://", /no host|neither/],
    ["a..b", /neither an IP address nor a host name/],
  ])("%j is refused by name", (endpoint, why) => {
    const err = thrown(() => normalizeEndpoint(endpoint));
    expect(err).toBeInstanceOf(TalosError);
    expect(err).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect((err as Error).message).toMatch(why);
  });

  it("accepts what talosctl accepts", () => {
    expect(normalizeEndpoint("10.5.0.2").id).toBe("10.5.0.2:50000");
    expect(normalizeEndpoint("[fd00::2]:50001").id).toBe("[fd00::2]:50001");
    expect(normalizeEndpoint("fd00::2").id).toBe("[fd00::2]:50000");
    expect(normalizeEndpoint("https://api.example.com/").id).toBe("api.example.com:443");
    expect(normalizeEndpoint(" cp-1.lan:50000 ").url).toBe("https://cp-1.lan:50000");
  });

  it("a bad endpoint fails at connect, before any socket", () => {
    const err = thrown(() =>
      TalosClient.maintenance({ endpoint: "[::1", insecure: "skip-verification-i-know" }),
    );
    expect(err).toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describe("certificates", () => {
  it("spkiFingerprint of something that is no certificate is a CredentialsError", () => {
    const err = thrown(() => spkiFingerprint("not a certificate"));
    expect(err).toBeInstanceOf(CredentialsError);
    expect(err).toMatchObject({ code: "CREDENTIALS_INVALID" });
    expect((err as Error).message).not.toContain("error:");
  });

  it("megabytes of BEGIN lines without an END are refused, naming the field", () => {
    // Matched block by block, this took minutes; the scan is linear now.
    const text = "-----BEGIN CERTIFICATE-----\nAAAA\n".repeat(60_000); // about 2 MB
    const err = thrown(() => parseCertificates(text, "ca"));
    expect(err).toBeInstanceOf(CredentialsError);
    expect(err).toMatchObject({ field: "ca" });
  });
});
