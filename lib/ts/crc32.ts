// CRC-32/MPEG-2, the checksum of PSI and SI sections (ISO/IEC 13818-1 Annex A).

/**
 * MPEG-2 CRC-32 of `u8[start, end)` as used by PSI sections (ISO/IEC 13818-1 Annex A):
 * polynomial 0x04C11DB7, initial value 0xFFFFFFFF, no reflection, no final XOR. A section
 * including its CRC field gives 0.
 */
export function crc32Mpeg2(u8: Uint8Array, start = 0, end: number = u8.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) {
    crc = CRC_TABLE[((crc >>> 24) ^ u8[i]!) & 0xff]! ^ (crc << 8);
  }
  return crc >>> 0;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 24;
    for (let k = 0; k < 8; k++) c = (c & 0x80000000) !== 0 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[n] = c >>> 0;
  }
  return table;
})();
