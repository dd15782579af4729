#!/usr/bin/env node
// The driftgate CLI. Runs the TypeScript sources through tsx, so no build step is needed.
import { register } from 'tsx/esm/api'

register()
await import('../services/cli/driftgate-cli.ts')
