// PCI devices from lspci text. Four outputs are understood, detected from the
// text itself: `lspci -nnmm` (one quoted record per line), `lspci -vmmnnk`
// (tag/value blocks), `lspci -nnk` (the human form with [vendor:device] ids,
// with -v/-x details, domains and grep's `--` separators) and plain `lspci`
// (names only, read back to ids by name where a name stands for one id).
import {
  checkInventoryText,
  clipText,
  cpuFromPciBridges,
  fullPciSlot,
  InventoryParseError,
  type MachineInventory,
  type PciDevice,
  validateInventory,
  validatePciDevice,
} from "../inventory.js";
import { classIdOfName, vendorOfText } from "./pci-names.js";

const FORMAT = "lspci";

/** A name with a trailing id in brackets, as -nn prints it: `NVIDIA Corporation [10de]`. */
function splitNamed(field: string, digits: number, line: number): { name: string; id: string } {
  // Read from the end by position (no backtracking regex: fields can be long).
  const text = field.trim();
  const open = text.length - digits - 2;
  const id = text.slice(open + 1, -1);
  if (open < 0 || text[open] !== "[" || !text.endsWith("]") || !isHex(id)) {
    throw new InventoryParseError(
      FORMAT,
      `"${clipText(field)}" has no [${"h".repeat(digits)}] id: run lspci with -nn`,
      line,
    );
  }
  return { name: text.slice(0, open).trimEnd(), id: id.toLowerCase() };
}

function isHex(text: string): boolean {
  return /^[0-9a-fA-F]+$/.test(text);
}

function device(fields: {
  slot?: string;
  cls: { name: string; id: string };
  vendor: { name: string; id: string };
  product: { name: string; id: string | undefined };
  svendor?: { name: string; id: string };
  sdevice?: { name: string; id: string };
  driver?: string;
}): PciDevice {
  return validatePciDevice(FORMAT, {
    slot: fields.slot === undefined ? undefined : fullPciSlot(fields.slot),
    classId: fields.cls.id.slice(0, 2),
    subclassId: fields.cls.id.slice(2, 4),
    className: fields.cls.name,
    vendorId: fields.vendor.id,
    vendor: fields.vendor.name,
    productId: fields.product.id,
    product: fields.product.name,
    subsystemVendorId: fields.svendor?.id,
    subsystemId: fields.sdevice?.id,
    driver: fields.driver,
  });
}

/** Tokens of an `lspci -mm` line: quoted fields (with \" and \\ escapes) and bare options. */
function tokenize(text: string, line: number): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === " " || c === "\t") {
      i++;
    } else if (c === '"') {
      let value = "";
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        value += text[i];
        i++;
      }
      if (text[i] !== '"') throw new InventoryParseError(FORMAT, "unterminated quoted field", line);
      i++;
      tokens.push(value);
    } else {
      const end = text.slice(i).search(/[ \t]/);
      const token = end < 0 ? text.slice(i) : text.slice(i, i + end);
      tokens.push(token);
      i += token.length;
    }
  }
  return tokens;
}

function parseMachineLines(lines: string[]): PciDevice[] {
  const out: PciDevice[] = [];
  lines.forEach((text, index) => {
    const line = index + 1;
    if (!text.trim()) return;
    const tokens = tokenize(text, line);
    const slot = tokens.shift();
    // Options -rXX (revision) and -pXX (prog-if) sit between the device and the subsystem fields.
    const fields = tokens.filter((t) => !/^-[rp][0-9a-fA-F]*$/.test(t));
    const [cls, vendor, product, svendor, sdevice] = fields;
    if (!slot || cls === undefined || vendor === undefined || product === undefined) {
      throw new InventoryParseError(FORMAT, 'expected: slot "class" "vendor" "device"', line);
    }
    out.push(
      device({
        slot,
        cls: splitNamed(cls, 4, line),
        vendor: splitNamed(vendor, 4, line),
        product: splitNamed(product, 4, line),
        svendor: svendor ? splitNamed(svendor, 4, line) : undefined,
        sdevice: sdevice ? splitNamed(sdevice, 4, line) : undefined,
      }),
    );
  });
  return out;
}

function parseVerboseBlocks(lines: string[]): PciDevice[] {
  const out: PciDevice[] = [];
  let tags = new Map<string, string>();
  let start = 1;
  const flush = () => {
    if (!tags.size) return;
    const get = (tag: string) => {
      const v = tags.get(tag);
      if (v === undefined)
        throw new InventoryParseError(FORMAT, `record has no ${tag}: line`, start);
      return v;
    };
    const svendor = tags.get("SVendor");
    const sdevice = tags.get("SDevice");
    out.push(
      device({
        slot: get("Slot"),
        cls: splitNamed(get("Class"), 4, start),
        vendor: splitNamed(get("Vendor"), 4, start),
        product: splitNamed(get("Device"), 4, start),
        svendor: svendor ? splitNamed(svendor, 4, start) : undefined,
        sdevice: sdevice ? splitNamed(sdevice, 4, start) : undefined,
        driver: tags.get("Driver"),
      }),
    );
    tags = new Map();
  };
  lines.forEach((text, index) => {
    if (!text.trim()) {
      flush();
      start = index + 2;
      return;
    }
    const m = /^([A-Za-z]+):\s*(.*)$/.exec(text);
    if (!m)
      throw new InventoryParseError(
        FORMAT,
        `expected "Tag:<tab>value", got "${clipText(text.trim())}"`,
        index + 1,
      );
    // Module may repeat; the first value of a tag is the one that matters.
    if (!tags.has(m[1] as string)) tags.set(m[1] as string, (m[2] ?? "").trim());
  });
  flush();
  return out;
}

/** `[vvvv:dddd]`, as -nn prints a vendor and device id pair. */
const ID_PAIR = /\[([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\]/g;
/** What may follow the id pair on a device line. */
const LINE_TAIL = /^(?:\s+\(rev [0-9a-fA-F]+\))?(?:\s+\(prog-if [^)]*\))?\s*$/;

/** The last `[vvvv:dddd]` of a text, by a single left-to-right scan. */
function lastIdPair(text: string): RegExpExecArray | undefined {
  let last: RegExpExecArray | undefined;
  for (const m of text.matchAll(ID_PAIR)) last = m;
  return last;
}

interface HumanDevice {
  slot: string;
  className: string;
  classId: string;
  rest: string;
  vendorId: string;
  /** Absent for plain lspci, where only a name tells the device. */
  productId?: string;
}

/**
 * One `lspci -nn` device line: `slot class [cccc]: vendor and device [vvvv:dddd] (rev xx)`.
 * Read by position with fixed-width patterns, so long lines cost linear time.
 */
function humanDevice(text: string): HumanDevice | undefined {
  const slotEnd = text.search(/\s/);
  if (slotEnd <= 0) return undefined;
  const cls = /\s\[([0-9a-fA-F]{4})\]:\s/g;
  cls.lastIndex = slotEnd;
  const c = cls.exec(text);
  const pair = lastIdPair(text);
  if (!c || !pair || pair.index < cls.lastIndex) return undefined;
  const className = text.slice(slotEnd, c.index).trim();
  const rest = text.slice(cls.lastIndex, pair.index).trim();
  if (!className || !rest || !/\s/.test(text[pair.index - 1] ?? "")) return undefined;
  if (!LINE_TAIL.test(text.slice(pair.index + pair[0].length))) return undefined;
  return {
    slot: text.slice(0, slotEnd),
    className,
    classId: c[1] as string,
    rest,
    vendorId: pair[1] as string,
    productId: pair[2] as string,
  };
}

/** Classes whose vendor decides what a machine needs: network, display, processors, accelerators. */
const CLASSES_THAT_MATTER = new Set(["02", "03", "0b", "12"]);

/**
 * One plain `lspci` device line (no -nn): `slot class: vendor device (rev xx)`.
 * Ids come back from names; `Device 14a4` (a device pci.ids has no name for)
 * gives its id. Returns null for a device that does not matter and whose vendor
 * cannot be named; throws, asking for -nn, when one that matters cannot be.
 */
function plainDevice(text: string, line: number): HumanDevice | null | undefined {
  // By position, as humanDevice reads: no pattern here may backtrack over a long line.
  const slotEnd = text.search(/\s/);
  const colon = slotEnd > 0 ? text.indexOf(": ", slotEnd) : -1;
  if (colon < 0) return undefined;
  const slot = text.slice(0, slotEnd);
  let className = text.slice(slotEnd, colon).trim();
  // A subclass pci.ids has no name for: `Generic system peripheral [0807]`.
  const bracket = /\s\[([0-9a-fA-F]{4})\]$/.exec(className);
  if (bracket) className = className.slice(0, bracket.index).trim();
  const classId = bracket?.[1] ?? classIdOfName(className);
  const name = withoutLineTail(text.slice(colon + 2).trim());
  const bothIds = /^Device ([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$/.exec(name);
  if (classId && bothIds) {
    const [, vendorId, productId] = bothIds as unknown as string[];
    return {
      slot: slot as string,
      className: className as string,
      classId,
      rest: name,
      vendorId: vendorId as string,
      productId,
    };
  }
  const ask = (why: string) =>
    new InventoryParseError(
      FORMAT,
      `${why} in "${clipText(text.trim())}": run lspci with -nn`,
      line,
    );
  if (!classId) throw ask(`unknown device class "${className}"`);
  const vendor = vendorOfText(name);
  if (!vendor) {
    if (CLASSES_THAT_MATTER.has(classId.slice(0, 2)))
      throw ask("the vendor name stands for no single PCI id");
    return null;
  }
  const productId = /^Device ([0-9a-fA-F]{4})$/.exec(vendor.rest)?.[1];
  // An NVIDIA GPU's generation decides its driver: without an id it must come from the chip name.
  if (
    vendor.id === "10de" &&
    classId.startsWith("03") &&
    !productId &&
    !/\b[A-Z]{1,3}\d{2,3}/.test(vendor.rest)
  ) {
    throw ask("no device id or chip name tells the NVIDIA GPU's generation");
  }
  return { slot, className, classId, rest: name, vendorId: vendor.id, productId };
}

/** A device text without lspci's `(rev xx)` and `(prog-if xx [name])` at its end. */
function withoutLineTail(text: string): string {
  let rest = text;
  for (;;) {
    const open = rest.lastIndexOf(" (");
    if (open < 0 || !rest.endsWith(")")) return rest;
    const piece = rest.slice(open + 2, -1);
    if (!/^rev [0-9a-fA-F]+$/.test(piece) && !piece.startsWith("prog-if ")) return rest;
    rest = rest.slice(0, open).trimEnd();
  }
}

function parseHumanLines(lines: string[]): PciDevice[] {
  const out: PciDevice[] = [];
  const records: {
    line: number;
    d: HumanDevice | undefined;
    subsystem?: [string, string];
    driver?: string;
  }[] = [];
  lines.forEach((text, index) => {
    if (!text.trim()) return;
    if (/^\s/.test(text)) {
      // Indented detail lines of -k / -v output.
      const at = text.indexOf("Subsystem:");
      const sub = at < 0 ? undefined : lastIdPair(text.slice(at));
      const drv = /Kernel driver in use:\s*(\S+)/.exec(text);
      const record = records[records.length - 1];
      if (!record)
        throw new InventoryParseError(FORMAT, "detail line before any device", index + 1);
      if (sub) record.subsystem = [sub[1] as string, sub[2] as string];
      if (drv) record.driver = drv[1];
      return;
    }
    // grep -A/-B puts "--" between its groups of lines.
    if (text.trim() === "--") return;
    // Config-space dumps of -x/-xxx ("00: 86 80 40 2a ..."): bytes, not a device.
    if (/^[0-9a-fA-F]{2,3}:(?:\s[0-9a-fA-F]{2}){1,16}\s*$/.test(text)) return;
    const d = humanDevice(text) ?? plainDevice(text, index + 1);
    if (d === null) {
      // A device that does not matter, from a vendor plain lspci names ambiguously.
      records.push({ line: index + 1, d: undefined });
      return;
    }
    if (!d) {
      throw new InventoryParseError(
        FORMAT,
        `not an lspci -nn device line: "${clipText(text.trim())}"`,
        index + 1,
      );
    }
    records.push({ line: index + 1, d });
  });
  for (const r of records) {
    if (!r.d) continue;
    const { slot, className, classId, rest, vendorId, productId } = r.d;
    out.push(
      device({
        slot,
        cls: { name: className, id: classId.toLowerCase() },
        // The human form joins vendor and device names; keep the whole text as the product name.
        vendor: { name: "", id: vendorId.toLowerCase() },
        product: { name: rest, id: productId?.toLowerCase() },
        svendor: r.subsystem ? { name: "", id: r.subsystem[0].toLowerCase() } : undefined,
        sdevice: r.subsystem ? { name: "", id: r.subsystem[1].toLowerCase() } : undefined,
        driver: r.driver,
      }),
    );
  }
  return out;
}

/** The output form of an lspci text, told from its first non-empty line. */
export function detectLspciFormat(text: string): "machine" | "verbose" | "human" {
  const first = text.split("\n").find((l) => l.trim()) ?? "";
  if (/^Slot:\s/.test(first)) return "verbose";
  if (/^\S+\s+"/.test(first)) return "machine";
  return "human";
}

/** Parses `lspci -nnmm`, `lspci -vmmnnk` or `lspci -nnk` output into PCI devices. */
export function parseLspci(text: string): PciDevice[] {
  if (!checkInventoryText(FORMAT, text).trim())
    throw new InventoryParseError(FORMAT, "no devices: the input is empty");
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  switch (detectLspciFormat(text)) {
    case "verbose":
      return parseVerboseBlocks(lines);
    case "machine":
      return parseMachineLines(lines);
    default:
      return parseHumanLines(lines);
  }
}

/**
 * A machine inventory from lspci text alone. The CPU vendor and arch are read
 * from the host bridge (Intel or AMD on x86) or the SoC's PCIe bridge
 * (Broadcom BCM2711/BCM2712 on Raspberry Pi); SMBIOS facts are not in lspci.
 * Slots without a PCI domain (plain `lspci`) get domain 0000, as Talos names them.
 */
export function inventoryFromLspci(text: string, name?: string): MachineInventory {
  const pciDevices = parseLspci(text);
  return validateInventory(FORMAT, {
    source: "lspci",
    name,
    cpu: cpuFromPciBridges(pciDevices),
    pciDevices,
  });
}
