#!/usr/bin/env node
// The `fabric-transport` command. Exit codes: 0 done, 1 failed, 2 bad usage.
import { FabricError } from '../api/errors.js';
import { UsageError } from './arguments.js';
import { BENCH_USAGE, benchCommand } from './bench-command.js';
import { INFO_USAGE, infoCommand } from './info.js';
import { PINGPONG_USAGE, pingpongCommand } from './pingpong-command.js';

const USAGE = `usage: fabric-transport <command> [options]

commands:
  info       which transports work here and why not; RDMA devices, ports and GIDs; 'auto''s choice for a peer
  bench      the cross-fabric benchmark suite on this host, beside raw sockets and the C tools
  pingpong   a latency and bandwidth test between two hosts (--listen on one, --connect from the other)
  help       this text

'fabric-transport <command> --help' describes each command's options.
`;

const COMMANDS: Record<string, { usage: string; run: (args: string[]) => Promise<void> }> = {
  info: { usage: INFO_USAGE, run: infoCommand },
  bench: { usage: BENCH_USAGE, run: benchCommand },
  pingpong: { usage: PINGPONG_USAGE, run: pingpongCommand },
};

let usage = USAGE;

async function run(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(USAGE);
    return;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  usage = command.usage;
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(command.usage);
    return;
  }
  await command.run(args);
}

run(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`fabric-transport: ${error.message}\n\n${usage}`);
    process.exit(2);
  }
  const message = error instanceof FabricError ? `${error.code}: ${error.message}` : String(error);
  process.stderr.write(`fabric-transport: ${message}\n`);
  process.exit(1);
});
