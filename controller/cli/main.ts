// Builds the `mcpfleet` command tree. Each command group lives in commands/<group>.ts and
// exports register(program); add a group by adding one line below.
import { Command, CommanderError } from 'commander';
import packageJson from '../../package.json' with { type: 'json' };
import { registerRegistryCommands } from './commands/registry.ts';
import { registerRenderCommand } from './commands/render.ts';
import { registerBridgeCommand } from './commands/bridge.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerOperateCommands } from './commands/operate.ts';
import { registerKeysCommand } from './commands/keys.ts';
import { registerAuditCommand } from './commands/audit.ts';

export function buildProgram(): Command {
  const program = new Command('mcpfleet')
    .description('Run many MCP servers: registry compiler, gateway controller and operator CLI.')
    .version(packageJson.version, '-V, --version', 'print the mcpfleet version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerRenderCommand(registerRegistryCommands(program));
  registerBridgeCommand(program);
  registerServeCommand(program);
  registerOperateCommands(program);
  registerKeysCommand(program);
  registerAuditCommand(program);
  return program;
}

/** Runs the CLI and returns the process exit code. Never throws a stack trace at users. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit "successfully" through commander's exitOverride.
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`mcpfleet: ${message}\n`);
    return 1;
  }
}
