/**
 * A new workflow id (a UUID). node:crypto loads on first use, not with the module: workers
 * load the engine and make none. @internal
 */
export function newWorkflowId(): string {
  return process.getBuiltinModule('node:crypto').randomUUID();
}
