import { TalosError } from "@taloskit/core";
import { describe, expect, it } from "vitest";
import {
  DownloadSizeError,
  FactoryError,
  InvalidSchematicError,
  isFactoryError,
  SchematicError,
  validateSchematicShape,
} from "../src/index.js";

describe("factory errors", () => {
  it("are TalosErrors with their own code and fields", () => {
    const cause = new Error("socket closed");
    const error = new InvalidSchematicError("FACTORY_INVALID_SCHEMATIC", "refused", {
      cause,
      status: 400,
      url: "https://factory.example/schematics",
      serverMessage: "bad extension",
    });
    expect(error).toBeInstanceOf(TalosError);
    expect(error).toBeInstanceOf(FactoryError);
    expect(error.name).toBe("InvalidSchematicError");
    expect(error.code).toBe("FACTORY_INVALID_SCHEMATIC");
    expect(error.cause).toBe(cause);
    expect(error.status).toBe(400);
    expect(error.url).toBe("https://factory.example/schematics");
    expect(error.serverMessage).toBe("bad extension");
    expect(error.node).toBeUndefined();
    expect(isFactoryError(error, "FACTORY_INVALID_SCHEMATIC")).toBe(true);
    expect(isFactoryError(error, "FACTORY_NOT_FOUND")).toBe(false);

    const size = new DownloadSizeError(10, 7, "https://factory.example/a.iso");
    expect(size).toBeInstanceOf(TalosError);
    expect([size.code, size.expected, size.received]).toEqual(["DOWNLOAD_SIZE_MISMATCH", 10, 7]);
  });

  it("a bad schematic is caught as a TalosError", () => {
    let caught: unknown;
    try {
      validateSchematicShape({ customization: { extraKernelArgs: [1] } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TalosError);
    expect(caught).toBeInstanceOf(SchematicError);
    expect((caught as SchematicError).code).toBe("SCHEMATIC_INVALID");
    expect((caught as SchematicError).issues.join()).toContain("extraKernelArgs");
  });
});
