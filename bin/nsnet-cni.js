#!/usr/bin/env node
// The nsnet CNI plugin, run once per invocation (built from src/cni by `npm run build`).
// The native front end (nsnet-cni in the build directory) hands requests to
// the CNI service when it runs, and falls back to this when it does not; it
// starts the service through this file too (`serve`, see src/cni/main.ts).
require('../dist/cni/main.js')
  .main(process.argv.slice(2))
  .then((status) => process.exit(status));
