import { crc32 } from 'node:zlib';

/**
 * Carrying metadata into encoded files where sharp cannot: EXIF and IPTC segments in JPEG, eXIf and
 * iCCP chunks in PNG, EXIF in WebP, and the orientation reset to 1 (pixels are stored upright).
 */
/** XMP with tiff:Orientation set to 1 (the pixels are already upright). */
export function uprightXmp(xmp: Buffer): string {
  return xmp
    .toString('utf8')
    .replace(/(tiff:Orientation\s*=\s*["'])\d(["'])/g, (_, a: string, b: string) => `${a}1${b}`)
    .replace(/(<tiff:Orientation>)\s*\d\s*(<\/tiff:Orientation>)/g, (_, a: string, b: string) => `${a}1${b}`);
}

/**
 * The EXIF block as a bare TIFF structure (no "Exif\0\0" prefix) with Orientation set to 1 and the
 * link to IFD1 (the thumbnail, still unrotated) removed; undefined when the block is malformed.
 */
export function uprightExif(exif: Buffer): Buffer | undefined {
  const t = Buffer.from(exif.subarray(exif.toString('latin1', 0, 6) === 'Exif\0\0' ? 6 : 0));
  const order = t.toString('latin1', 0, 2);
  if (t.length < 8 || (order !== 'II' && order !== 'MM')) return undefined;
  const le = order === 'II';
  const u16 = (o: number) => (le ? t.readUInt16LE(o) : t.readUInt16BE(o));
  const ifd = le ? t.readUInt32LE(4) : t.readUInt32BE(4);
  if (ifd + 2 > t.length) return undefined;
  const end = ifd + 2 + u16(ifd) * 12;
  if (end + 4 > t.length) return undefined;
  for (let e = ifd + 2; e < end; e += 12) {
    if (u16(e) === 0x0112) le ? t.writeUInt16LE(1, e + 8) : t.writeUInt16BE(1, e + 8);
  }
  t.writeUInt32BE(0, end);
  return t;
}

/** Replaces the EXIF (APP1) and IPTC (APP13) segments of a JPEG with the given ones. */
export function jpegWithSegments(jpg: Buffer, exif: Buffer | undefined, iptc: Buffer | undefined): Buffer {
  const seg = (marker: number, body: Buffer) => {
    if (body.length + 2 > 0xffff) return [];
    const head = Buffer.from([0xff, marker, 0, 0]);
    head.writeUInt16BE(body.length + 2, 2);
    return [head, body];
  };
  const ps = Buffer.from('Photoshop 3.0\0', 'latin1');
  let app13: Buffer | undefined = iptc;
  if (iptc && !iptc.subarray(0, ps.length).equals(ps)) {
    const res = Buffer.alloc(12);
    res.write('8BIM', 0, 'latin1');
    res.writeUInt16BE(0x0404, 4); // IPTC-NAA record, empty name (2 bytes), then the size
    res.writeUInt32BE(iptc.length, 8);
    app13 = Buffer.concat([ps, res, iptc, Buffer.alloc(iptc.length & 1)]);
  }
  const ours = [
    ...(exif ? seg(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), exif])) : []),
    ...(app13 ? seg(0xed, app13) : []),
  ];
  const parts: Buffer[] = [jpg.subarray(0, 2)];
  let o = 2;
  let placed = false;
  while (o + 4 <= jpg.length && jpg[o] === 0xff && jpg[o + 1] !== 0xda) {
    const marker = jpg[o + 1]!;
    const next = o + 2 + jpg.readUInt16BE(o + 2);
    if (marker !== 0xe0 && !placed) {
      parts.push(...ours);
      placed = true;
    }
    const oldExif = marker === 0xe1 && jpg.toString('latin1', o + 4, o + 10) === 'Exif\0\0';
    if (!((oldExif && exif) || (marker === 0xed && app13))) parts.push(jpg.subarray(o, next));
    o = next;
  }
  if (!placed) parts.push(...ours);
  parts.push(jpg.subarray(o));
  return Buffer.concat(parts);
}

/** Puts chunk `type` right after IHDR, replacing any of that type (and sRGB, for iCCP). */
export function pngWithChunk(png: Buffer, type: string, data: Buffer): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  const parts: Buffer[] = [png.subarray(0, 8)];
  for (let o = 8; o + 12 <= png.length; ) {
    const t = png.toString('latin1', o + 4, o + 8);
    const next = o + 12 + png.readUInt32BE(o);
    if (t !== type && !(type === 'iCCP' && t === 'sRGB')) parts.push(png.subarray(o, next));
    if (t === 'IHDR') parts.push(chunk);
    o = next;
  }
  return Buffer.concat(parts);
}

/** Adds an EXIF chunk (before XMP, flagged in VP8X, which the attached ICC profile guarantees). */
export function webpWithExif(webp: Buffer, exif: Buffer): Buffer {
  const chunks: Buffer[] = [];
  for (let o = 12; o + 8 <= webp.length; ) {
    const next = o + 8 + webp.readUInt32LE(o + 4) + (webp.readUInt32LE(o + 4) & 1);
    if (webp.toString('latin1', o, o + 4) !== 'EXIF') chunks.push(Buffer.from(webp.subarray(o, next)));
    o = next;
  }
  const vp8x = chunks.find((c) => c.toString('latin1', 0, 4) === 'VP8X');
  if (!vp8x) return webp;
  vp8x.writeUInt8(vp8x.readUInt8(8) | 0x08, 8);
  const chunk = Buffer.alloc(8 + exif.length + (exif.length & 1));
  chunk.write('EXIF', 0, 'latin1');
  chunk.writeUInt32LE(exif.length, 4);
  exif.copy(chunk, 8);
  const xmpAt = chunks.findIndex((c) => c.toString('latin1', 0, 4) === 'XMP ');
  chunks.splice(xmpAt < 0 ? chunks.length : xmpAt, 0, chunk);
  const head = Buffer.from('RIFF\0\0\0\0WEBP', 'latin1');
  const body = Buffer.concat(chunks);
  head.writeUInt32LE(body.length + 4, 4);
  return Buffer.concat([head, body]);
}
