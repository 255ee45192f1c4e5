#!/usr/bin/env node
// The nsnet command (built from src/cli by `npm run build`).
require('../dist/cli/main.js').run(process.argv);
