import type { Io } from './commands.js';
import { openBrowser } from './open-browser.js';
import { run } from './run.js';

// A reader that stops early (`grantflow status | head -1`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
}

const io: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  errIsTTY: process.stderr.isTTY === true,
  env: process.env,
  onInterrupt(handler) {
    process.on('SIGINT', handler);
    return () => void process.off('SIGINT', handler);
  },
  openBrowser,
};

run(process.argv.slice(2), io).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // run() turns every error into a line and an exit code; this is the last resort.
    process.stderr.write(`grantflow: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
