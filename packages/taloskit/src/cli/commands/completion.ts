// `taloskit completion bash|zsh|fish`: a shell completion script made from the
// command tree itself (commands, subcommands and their flags), so it follows
// whatever is registered.
import { Command, type Option } from "commander";
import { type CommandIO, processIO } from "../globals.js";

interface Node {
  path: string;
  subcommands: string[];
  flags: string[];
  options: Option[];
}

/** Every command of the tree with its path from the root, subcommand names and flags. */
function walk(cmd: Command, path = ""): Node[] {
  const options = cmd.options.filter((o) => !o.hidden);
  const node: Node = {
    path,
    subcommands: cmd.commands.flatMap((c) => [c.name(), ...c.aliases()]),
    flags: options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f))),
    options,
  };
  return [
    node,
    ...cmd.commands.flatMap((c) =>
      [c.name(), ...c.aliases()].flatMap((n) => walk(c, path ? `${path} ${n}` : n)),
    ),
  ];
}

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

function bash(root: Command): string {
  const nodes = walk(root);
  const cases = nodes
    .map((n) => `    ${quote(n.path)}) words=${quote([...n.subcommands, ...n.flags].join(" "))} ;;`)
    .join("\n");
  const known = nodes.map((n) => quote(n.path)).join("|");
  return `# taloskit completion for bash: source <(taloskit completion bash)
_taloskit() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" next w words
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    next="\${path:+$path }$w"
    case "$next" in
      ${known}) path="$next" ;;
    esac
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _taloskit taloskit
`;
}

function zsh(root: Command): string {
  return `#compdef taloskit
# taloskit completion for zsh: source <(taloskit completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(root).split("\n").slice(1).join("\n")}`;
}

function fish(root: Command): string {
  const lines = [
    "# taloskit completion for fish: taloskit completion fish | source",
    "complete -c taloskit -f",
  ];
  for (const n of walk(root)) {
    const words = n.path ? n.path.split(" ") : [];
    const cond = words.length
      ? `-n ${quote(`__fish_seen_subcommand_from ${words[words.length - 1]}`)}`
      : "-n __fish_use_subcommand";
    for (const sub of n.subcommands) lines.push(`complete -c taloskit ${cond} -a ${quote(sub)}`);
    for (const o of n.options) {
      const long = o.long ? ` -l ${o.long.replace(/^--/, "")}` : "";
      const short = o.short ? ` -s ${o.short.replace(/^-/, "")}` : "";
      const arg = o.required ? " -r" : "";
      const choices = o.argChoices ? ` -a ${quote(o.argChoices.join(" "))}` : "";
      lines.push(
        `complete -c taloskit ${cond}${long}${short}${arg}${choices} -d ${quote(o.description)}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

const SHELLS = { bash, zsh, fish } as const;

/** The `completion` command. */
export function completionCommand(io: CommandIO = processIO): Command {
  const cmd = new Command("completion")
    .description("print a shell completion script: bash, zsh or fish")
    .argument("<shell>", "bash, zsh or fish");
  return cmd.action((shell: string) => {
    const make = SHELLS[shell as keyof typeof SHELLS];
    if (!make) throw new Error(`unsupported shell "${shell}": use bash, zsh or fish`);
    let root: Command = cmd;
    while (root.parent) root = root.parent;
    io.stdout(make(root));
  });
}
