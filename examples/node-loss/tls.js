'use strict';
// A self-signed TLS certificate for go-plugin's mutual TLS (docs/protocol.md,
// section 2), built with Node's crypto: an ECDSA P-256 key, and the X.509
// DER written by hand, since Node can read certificates but not make them.
const crypto = require('node:crypto');

function len(n) {
  if (n < 0x80) return Buffer.from([n]);
  const b = [];
  while (n > 0) { b.unshift(n & 0xff); n >>= 8; }
  return Buffer.from([0x80 | b.length, ...b]);
}
const tlv = (tag, ...parts) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const seq = (...p) => tlv(0x30, ...p);
const set = (...p) => tlv(0x31, ...p);
const oid = (s) => {
  const a = s.split('.').map(Number);
  const out = [40 * a[0] + a[1]];
  for (const v of a.slice(2)) {
    const b = [v & 0x7f];
    for (let x = v >> 7; x > 0; x >>= 7) b.unshift(0x80 | (x & 0x7f));
    out.push(...b);
  }
  return tlv(0x06, Buffer.from(out));
};
const int = (buf) => tlv(0x02, buf[0] & 0x80 ? Buffer.concat([Buffer.from([0]), buf]) : buf);
const utf8 = (s) => tlv(0x0c, Buffer.from(s));
const time = (d) => tlv(0x17, Buffer.from(d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'));
const bits = (buf) => tlv(0x03, Buffer.from([0]), buf);
const octets = (buf) => tlv(0x04, buf);
const bool = (v) => tlv(0x01, Buffer.from([v ? 0xff : 0]));

// serial returns a random 16-byte certificate serial number whose first byte
// is in 0x01–0x7f: positive, and minimally encoded as a DER INTEGER (a
// leading 0x00 byte before a byte below 0x80, which randomBytes gives about
// once in 512 tries, is a non-minimal encoding that OpenSSL rejects).
function serial() {
  const b = crypto.randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x01;
  return b;
}

// makeCert returns {certPem, keyPem, certDer} of a fresh self-signed
// certificate for "localhost".
function makeCert() {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(set(seq(oid('2.5.4.3'), utf8('localhost'))));
  const now = Date.now();
  const extensions = tlv(0xa3, seq(
    // subjectAltName: DNS localhost
    seq(oid('2.5.29.17'), octets(seq(tlv(0x82, Buffer.from('localhost'))))),
    // basicConstraints: critical, CA:true
    seq(oid('2.5.29.19'), bool(true), octets(seq(bool(true)))),
    // keyUsage: critical, digitalSignature | keyEncipherment | keyCertSign
    seq(oid('2.5.29.15'), bool(true), octets(bits(Buffer.from([0xa4])))),
    // extKeyUsage: serverAuth, clientAuth
    seq(oid('2.5.29.37'), octets(seq(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2')))),
  ));
  const tbs = seq(
    tlv(0xa0, int(Buffer.from([2]))), // version 3
    int(serial()),
    ecdsaSha256,
    name,
    // UTCTime holds years up to 2049: stay well within it.
    seq(time(new Date(now - 30e3)), time(new Date(now + 10 * 365 * 864e5))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = crypto.sign('sha256', tbs, privateKey); // DER ECDSA signature
  const certDer = seq(tbs, ecdsaSha256, bits(signature));
  const certPem = `-----BEGIN CERTIFICATE-----\n${certDer.toString('base64').match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`;
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  return { certPem, keyPem, certDer };
}

module.exports = { makeCert };
