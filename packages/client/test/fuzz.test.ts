// Property tests of the client's input parsers (endpoints, PEM fields,
// certificates, keys, fingerprints): any input gives a result or a
// CredentialsError / TalosError, never OpenSSL's raw error or a TypeError.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FUZZ, nastyString, nastyValue, typedOrValid } from "../../../test/fuzz/fuzz.js";
import {
  CredentialsError,
  decodePemField,
  normalizeEndpoint,
  parseCertificates,
  spkiFingerprint,
  TalosError,
} from "../src/index.js";

const pemish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "-----BEGIN CERTIFICATE-----",
        "-----END CERTIFICATE-----",
        "-----BEGIN ED25519 PRIVATE KEY-----",
        "-----BEGIN ",
        "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",
        "====",
        "",
      ),
      nastyString,
    ),
    { maxLength: 8 },
  )
  .map((lines) => lines.join("\n"));

describe("client parsers under random input", () => {
  it("endpoints: an Endpoint or a TalosError naming the endpoint", () => {
    const endpoint = fc.oneof(
      nastyString,
      fc
        .tuple(
          fc.constantFrom("", "https://", "grpc://", "["),
          fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), nastyString),
          fc.constantFrom("", "]", ":50000", "]:1", ":", ":99999", "/x"),
        )
        .map((parts) => parts.join("")),
    );
    fc.assert(
      fc.property(endpoint, (text) => {
        const result = typedOrValid(() => normalizeEndpoint(text), TalosError);
        if (!(result instanceof TalosError)) {
          // What is accepted makes a URL: the old failure was a TypeError at connect.
          expect(new URL(result.url).port || "443").toBe(String(result.port));
        }
      }),
      FUZZ,
    );
    // A prototype-free object used to escape as "Cannot convert object to primitive value".
    expect(() => normalizeEndpoint(Object.create(null))).toThrow(/not a string/);
    fc.assert(
      fc.property(nastyValue, (value) => {
        typedOrValid(() => normalizeEndpoint(value as string), TalosError);
      }),
      FUZZ,
    );
  });

  it("PEM fields, certificates and fingerprints", () => {
    fc.assert(
      fc.property(fc.oneof(pemish, nastyString), (text) => {
        typedOrValid(() => decodePemField(text, "ca"), CredentialsError);
        typedOrValid(
          () => decodePemField(Buffer.from(text).toString("base64"), "crt"),
          CredentialsError,
        );
        typedOrValid(() => parseCertificates(text, "ca"), CredentialsError);
        typedOrValid(() => spkiFingerprint(text), CredentialsError);
        typedOrValid(() => spkiFingerprint(Buffer.from(text)), CredentialsError);
      }),
      FUZZ,
    );
  });
});
