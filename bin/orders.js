#!/usr/bin/env node
// The `orders` operator CLI: runs src/cli/index.ts through tsx's loader, wherever it is called from.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/cli/index.ts', import.meta.url).href);
