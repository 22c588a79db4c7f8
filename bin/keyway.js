#!/usr/bin/env node
// Node 24 runs the TypeScript sources directly (type stripping); no build step.
import { main } from '../src/cli/main.ts';

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`keyway: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
