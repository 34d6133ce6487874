#!/usr/bin/env node
import { main } from './main.js';

// Exit explicitly (a WebGPU device keeps the event loop alive), but only once stdout has taken
// everything: exiting at once truncates output going to a pipe.
main(process.argv.slice(2)).then((code) => process.stdout.write('', () => process.exit(code)));
