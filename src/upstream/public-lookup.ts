/**
 * A DNS lookup for connections the upstream chose (a redirect to a CDN, a token realm on
 * another host): it resolves the name and fails unless every address is public. It is
 * given to the socket as its `lookup`, so the address checked is the address connected
 * to; a name that answers a public address to a pre-check and 127.0.0.1 to the connect
 * (DNS rebinding) never gets through. IP literals skip `lookup` in node:net, so callers
 * check those with isPublicAddress before sending the request.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { addressClass } from './address-class.js';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** Thrown (via the callback) for a name that resolves to a non-public address. */
export class NonPublicAddressError extends Error {
  readonly code = 'ERR_NON_PUBLIC_ADDRESS';
  readonly hostname: string;
  readonly address: string;

  constructor(hostname: string, address: string, kind: string) {
    super(`"${hostname}" resolves to ${kind} address ${address}`);
    this.hostname = hostname;
    this.address = address;
  }
}

export type Resolver = (hostname: string, options: LookupOptions & { all: true }, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/** Builds the lookup; `resolve` is node:dns lookup unless a test injects a resolver. */
export function publicOnlyLookup(resolve: Resolver = dnsLookup as unknown as Resolver) {
  return function lookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      if (addresses.length === 0) return callback(Object.assign(new Error(`"${hostname}" has no address`), { code: 'ENOTFOUND' }), '');
      // Refuse the name if any answer is not public: picking the public ones would still let
      // a later connection attempt (happy eyeballs, a retry) reach the private one.
      for (const a of addresses) {
        const kind = addressClass(a.address);
        if (kind !== 'public') return callback(new NonPublicAddressError(hostname, a.address, kind), '');
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}
