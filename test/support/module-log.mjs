/**
 * Preloaded with `--import` (through NODE_OPTIONS) into a service process under test: appends the
 * URL of every module the process resolves through the ES module loader to $MODULE_LOG_FILE, so a
 * test can tell which packages a process loaded.
 */
import { register } from 'node:module';

const file = process.env.MODULE_LOG_FILE;
if (file) register('./module-log-hooks.mjs', import.meta.url, { data: { file } });
