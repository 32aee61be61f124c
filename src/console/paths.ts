/**
 * Where the console lives: its home at /admin, everything else under /admin/console. A browser
 * opens these paths, so a refusal there asks for Basic credentials (api/admin-auth.ts).
 */
export const CONSOLE_HOME = '/admin';
export const CONSOLE_PATH = '/admin/console';

export function isConsolePath(path: string): boolean {
  return path === CONSOLE_HOME || path === `${CONSOLE_HOME}/` || path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`);
}

/** The console's stylesheet where any page may load it without credentials (the index at /). */
export const PUBLIC_STYLESHEET = '/assets/console.css';
