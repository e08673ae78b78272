import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Directory of this package's code: `dist/` when built, `src/` when run from sources. */
export const PACKAGE_CODE_DIR: string = dirname(fileURLToPath(import.meta.url));
