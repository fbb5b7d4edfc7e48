/**
 * SHA-256 of a string: node:crypto where the runtime has it (about 18× faster on Node for one
 * short input), WebCrypto everywhere else. node:crypto is reached through
 * `process.getBuiltinModule` at run time, never imported, so browser bundles stay clean.
 */
type NodeHash = { createHash(algorithm: 'sha256'): { update(data: string): { digest(): Uint8Array } } };

let nodeCrypto: NodeHash | null | undefined;

function findNodeCrypto(): NodeHash | null {
  if (nodeCrypto === undefined) {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    nodeCrypto = (proc?.getBuiltinModule?.('node:crypto') as NodeHash | undefined) ?? null;
  }
  return nodeCrypto;
}

export async function sha256(text: string): Promise<Uint8Array> {
  const node = findNodeCrypto();
  if (node) return new Uint8Array(node.createHash('sha256').update(text).digest());
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

/** Tests and benchmarks compare both paths. */
export async function sha256WebCrypto(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}
