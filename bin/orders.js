#!/usr/bin/env node
// The `orders` operator CLI, from the compiled JavaScript in dist/ (built first when missing or
// stale: bin/launch.js), wherever it is called from.
import { launch } from './launch.js';

await launch('cli/index.js');
