#!/usr/bin/env node
// The nsnet CNI plugin, run once per invocation (built from src/cni by `npm run build`).
// The native front end (nsnet-cni in the build directory) hands requests to
// `nsnet cni serve` when it runs, and falls back to this when it does not.
require('../dist/cni/main.js')
  .main()
  .then((status) => process.exit(status));
