/**
 * Preloaded (`node --import`) by `toil run` into the workflow program it starts: an error that
 * escapes the program — thrown while its module loads, or an unhandled rejection — is shown
 * as one line with the user's file and line and a hint, like every other toil error.
 *
 * @packageDocumentation
 */
import { installProgramErrorHandlers } from './program-error.js';

installProgramErrorHandlers();
