// OpenSSL finds a certificate in a hashed directory (SSL_CERT_DIR, `openssl rehash`) by the
// file name `<hash of its subject>.<n>`: X509_NAME_hash of OpenSSL >= 1.0, the first four bytes
// (little-endian) of the SHA-1 of the name's canonical encoding (x509_name_canon): each RDN's
// SET OF (type, value) re-encoded in DER with text values as UTF8String, ASCII lower-cased,
// leading and trailing white space dropped and inner runs of it made one space.

interface Element {
  tag: number;
  /** Offset of the tag. */
  offset: number;
  /** Offset of the content. */
  start: number;
  /** Offset after the content. */
  end: number;
}

function readElement(der: Uint8Array, offset: number): Element {
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new Error('multi-byte DER tag');
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4) throw new Error('unsupported DER length');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i]!;
    start += bytes;
  }
  const end = start + length;
  if (end > der.length) throw new Error('truncated DER');
  return { tag, offset, start, end };
}

function children(der: Uint8Array, parent: Element): Element[] {
  const list: Element[] = [];
  for (let offset = parent.start; offset < parent.end; offset = list.at(-1)!.end)
    list.push(readElement(der, offset));
  return list;
}

function encode(tag: number, content: Uint8Array): Buffer {
  const n = content.length;
  let header: number[];
  if (n < 0x80) header = [tag, n];
  else {
    const bytes: number[] = [];
    for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
    header = [tag, 0x80 | bytes.length, ...bytes];
  }
  return Buffer.concat([Buffer.from(header), content]);
}

const UTF8_STRING = 0x0c;
/** Text types OpenSSL canonicalizes (ASN1_MASK_CANON), by how their bytes encode characters. */
const TEXT_TYPES = new Map<number, 'utf8' | 'latin1' | 'utf16be' | 'utf32be'>([
  [UTF8_STRING, 'utf8'],
  [0x13, 'latin1'], // PrintableString
  [0x14, 'latin1'], // T61String
  [0x16, 'latin1'], // IA5String
  [0x1a, 'latin1'], // VisibleString
  [0x1e, 'utf16be'], // BMPString
  [0x1c, 'utf32be'], // UniversalString
]);

function toUtf8(bytes: Uint8Array, encoding: 'utf8' | 'latin1' | 'utf16be' | 'utf32be'): Buffer {
  const buffer = Buffer.from(bytes);
  if (encoding === 'utf8') return buffer;
  if (encoding === 'latin1') return Buffer.from(buffer.toString('latin1'), 'utf8');
  const width = encoding === 'utf16be' ? 2 : 4;
  if (buffer.length % width !== 0) throw new Error('odd-length wide string');
  const points: number[] = [];
  for (let i = 0; i < buffer.length; i += width)
    points.push(width === 2 ? buffer.readUInt16BE(i) : buffer.readUInt32BE(i));
  return Buffer.from(String.fromCodePoint(...points), 'utf8');
}

const isSpace = (byte: number): boolean => byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);

/** asn1_string_canon's text: trimmed, inner white space one space, ASCII lower-cased. */
function canonicalText(utf8: Buffer): Buffer {
  let from = 0;
  let to = utf8.length;
  while (from < to && isSpace(utf8[from]!)) from++;
  while (to > from && isSpace(utf8[to - 1]!)) to--;
  const out: number[] = [];
  for (let i = from; i < to;) {
    const byte = utf8[i]!;
    if (byte >= 0x80) {
      out.push(byte);
      i++;
    } else if (isSpace(byte)) {
      out.push(0x20);
      while (i < to && isSpace(utf8[i]!)) i++;
    } else {
      out.push(byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte);
      i++;
    }
  }
  return Buffer.from(out);
}

/**
 * OpenSSL's subject name hash of the DER certificate `der` (`openssl x509 -subject_hash`, the
 * name `openssl rehash` gives its file in a CA directory), as 8 lower-case hex digits.
 *
 * @throws Error when `der` is not a certificate this reader understands.
 * @internal
 */
export function subjectNameHash(der: Uint8Array): string {
  const certificate = readElement(der, 0);
  const tbs = children(der, certificate)[0];
  if (!tbs) throw new Error('no TBSCertificate');
  const fields = children(der, tbs);
  // version [0] is optional; then serial, signature, issuer, validity, subject.
  const subject = fields[fields[0]?.tag === 0xa0 ? 5 : 4];
  if (!subject || subject.tag !== 0x30) throw new Error('no subject name');
  const canonical: Buffer[] = [];
  for (const rdn of children(der, subject)) {
    const entries = children(der, rdn).map((entry) => {
      const [type, value] = children(der, entry);
      if (!type || !value) throw new Error('malformed name entry');
      const encoding = TEXT_TYPES.get(value.tag);
      const canonValue = encoding
        ? encode(UTF8_STRING, canonicalText(toUtf8(der.subarray(value.start, value.end), encoding)))
        : Buffer.from(der.subarray(value.offset, value.end));
      return encode(0x30, Buffer.concat([der.subarray(type.offset, type.end), canonValue]));
    });
    // DER orders a SET OF's elements by their encodings, bytewise.
    canonical.push(encode(0x31, Buffer.concat(entries.sort(Buffer.compare))));
  }
  const digest = process
    .getBuiltinModule('node:crypto')
    .createHash('sha1')
    .update(Buffer.concat(canonical))
    .digest();
  return digest.readUInt32LE(0).toString(16).padStart(8, '0');
}
