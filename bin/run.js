#!/usr/bin/env node
// Thin launcher: oclif reads oclif.manifest.json, so no command module loads until it is run.
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
