// The demo lands with the product issue; until then it says so.
console.log("The taloskit demo is not built yet. Run `npx pnpm@10 test` to run the checks.");
