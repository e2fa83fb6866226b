#!/usr/bin/env node
// The `fabric-transport` command. Exit codes: 0 done, 1 failed, 2 bad usage.
import { FabricError } from '../errors.js';
import { formatInfo, infoReport } from './info.js';

const USAGE = `usage: fabric-transport <command> [options]

commands:
  info [--peer HOST] [--device LIST] [--json]
      Every transport, available or why not; RDMA devices with their ports, states, link layers, MTUs and
      GIDs (index, type, address); with --peer, which transport 'auto' would use to reach HOST, and why.
      --device takes FABRIC_DEVICE's syntax (mlx5_0:1,^mlx5_2).
  help
      This text.
`;

class UsageError extends Error {}

/** Parses `--name value` and `--flag` options; anything else is a usage error. */
function parseFlags(args: string[], valued: string[], flags: string[]): Map<string, string | true> {
  const parsed = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (flags.includes(arg)) parsed.set(arg, true);
    else if (valued.includes(arg)) {
      const value = args[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      parsed.set(arg, value);
    } else throw new UsageError(`unknown option ${arg}`);
  }
  return parsed;
}

async function run(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return;
  }
  if (command !== 'info') throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  if (args.includes('--help')) {
    process.stdout.write(USAGE);
    return;
  }
  const flags = parseFlags(args, ['--peer', '--device'], ['--json']);
  const report = await infoReport(
    flags.get('--peer') as string | undefined,
    flags.get('--device') as string | undefined,
  );
  process.stdout.write(flags.has('--json') ? `${JSON.stringify(report, null, 2)}\n` : formatInfo(report));
}

run(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`fabric-transport: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  const message = error instanceof FabricError ? `${error.code}: ${error.message}` : String(error);
  process.stderr.write(`fabric-transport: ${message}\n`);
  process.exit(error instanceof FabricError && error.code === 'EINVAL' ? 2 : 1);
});
