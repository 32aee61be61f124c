#!/usr/bin/env node
// `npm start`: the service from the compiled JavaScript in dist/, built first when missing or
// stale (bin/launch.js). The service runs in this very process, so signals reach it directly.
import { launch } from './launch.js';

await launch('main.js');
