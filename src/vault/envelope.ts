import { KeywayError } from '../core/errors.ts';

/**
 * The vault's stored form of a secret: a compact JSON string, explicit and versioned, e.g.
 * `{"v":1,"kid":"dk_…","alg":"A256GCM","nonce":"<b64url>","ct":"<b64url ciphertext||tag>"}`.
 *
 * `kid` names the key that sealed it: a data key (`dk_…`) for secrets, a master key (`mk_…`) for
 * wrapped data keys. The same format serves both, so every stored secret says how it was sealed.
 */
export interface Envelope {
  readonly v: 1;
  readonly kid: string;
  readonly alg: 'A256GCM';
  readonly nonce: Uint8Array;
  /** Ciphertext followed by the 16-byte GCM tag. */
  readonly ct: Uint8Array;
}

export const ENVELOPE_VERSION = 1;
export const ENVELOPE_ALG = 'A256GCM';
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

/** `dk`: the envelope holds a secret under a data key; `mk`: a data key wrapped under a master key. */
export type KeyKind = 'dk' | 'mk';

export interface ParseEnvelopeOptions {
  /** Require the kid to name this kind of key. */
  kind?: KeyKind;
  /** What is being parsed, for the error message (e.g. "secret access_token of record conn_…"). Never the value. */
  what?: string;
}

const FIELDS = ['alg', 'ct', 'kid', 'nonce', 'v'];
const KID = /^(dk|mk)_[A-Za-z0-9_-]{1,128}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

export function formatEnvelope(parts: { kid: string; nonce: Uint8Array; ct: Uint8Array }): string {
  return JSON.stringify({
    v: ENVELOPE_VERSION,
    kid: parts.kid,
    alg: ENVELOPE_ALG,
    nonce: Buffer.from(parts.nonce).toString('base64url'),
    ct: Buffer.from(parts.ct).toString('base64url'),
  });
}

/**
 * Strictly validates an envelope: exactly the five fields, a known version and algorithm, a kid of
 * the expected kind, canonical unpadded base64url, a 12-byte nonce and a ciphertext at least as long
 * as the tag. Error messages never echo the input: a column that holds plaintext by mistake must not
 * leak it through an error.
 */
export function parseEnvelope(text: string, options: ParseEnvelopeOptions = {}): Envelope {
  const invalid = (reason: string): KeywayError =>
    new KeywayError('vault_error', `${options.what ?? 'stored secret'} is not a valid vault envelope: ${reason}`);
  if (typeof text !== 'string') throw invalid('it is not a string');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // Deliberately no cause: the JSON parser's message quotes the input, which may be a secret.
    throw invalid('it is not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('it is not a JSON object');
  const record = raw as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  if (keys.length !== FIELDS.length || keys.some((k, i) => k !== FIELDS[i])) {
    throw invalid('it must have exactly the fields v, kid, alg, nonce, ct');
  }
  const { v, kid, alg, nonce, ct } = record;
  if (v !== ENVELOPE_VERSION) {
    throw invalid(typeof v === 'number' ? `unsupported version ${v}` : 'v must be a number');
  }
  if (alg !== ENVELOPE_ALG) throw invalid(`unsupported algorithm (expected ${ENVELOPE_ALG})`);
  if (typeof kid !== 'string' || !KID.test(kid)) throw invalid('kid is not a key id');
  if (options.kind !== undefined && !kid.startsWith(`${options.kind}_`)) {
    throw invalid(`kid must name a ${options.kind === 'dk' ? 'data' : 'master'} key`);
  }
  const nonceBytes = decodeB64url(nonce);
  if (nonceBytes === undefined || nonceBytes.length !== NONCE_BYTES) {
    throw invalid(`nonce must be ${NONCE_BYTES} bytes in base64url`);
  }
  const ctBytes = decodeB64url(ct);
  if (ctBytes === undefined || ctBytes.length < TAG_BYTES) {
    throw invalid(`ct must be base64url of at least ${TAG_BYTES} bytes`);
  }
  return { v: ENVELOPE_VERSION, kid, alg: ENVELOPE_ALG, nonce: nonceBytes, ct: ctBytes };
}

/** Canonical unpadded base64url only: one stored form per value. */
function decodeB64url(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string' || !B64URL.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64url');
  return bytes.toString('base64url') === value ? new Uint8Array(bytes) : undefined;
}
