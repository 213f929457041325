// Verify tokens minted by jwtwarden with Node's `jose` (tests/interop/test_interop.py).
//
// Input on stdin, JSON: one case, or {"cases": [case, ...]}. A case is
//   {"token", "jwks" | "secret" (base64url HMAC key), "typ", "algorithms", "issuer", "audience",
//    "expect": "valid" | "invalid", optional "requiredClaims" (default exp, iat, sub, jti) and
//    "currentDate" (seconds)}
// Output on stdout, JSON: one result per case {"ok", "payload" | "code", "message"}.
// Exit status 0 when every case met its expectation, 1 otherwise, 2 on bad input.
import { createLocalJWKSet, jwtVerify } from 'jose';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function verifyCase(c) {
  const key = c.secret !== undefined
    ? new Uint8Array(Buffer.from(c.secret, 'base64url'))
    : createLocalJWKSet(c.jwks);
  const options = {
    algorithms: c.algorithms,
    issuer: c.issuer,
    audience: c.audience,
    requiredClaims: c.requiredClaims || ['exp', 'iat', 'sub', 'jti'],
  };
  if (c.typ) options.typ = c.typ;
  if (c.currentDate !== undefined) options.currentDate = new Date(c.currentDate * 1000);
  try {
    const { payload, protectedHeader } = await jwtVerify(c.token, key, options);
    return { ok: true, payload, protectedHeader };
  } catch (err) {
    return { ok: false, code: err.code || 'ERR', message: String(err.message) };
  }
}

let input;
try {
  input = JSON.parse(await readStdin());
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, code: 'BAD_INPUT', message: String(err) }) + '\n');
  process.exit(2);
}
const cases = Array.isArray(input.cases) ? input.cases : [input];
const results = [];
let failures = 0;
for (const c of cases) {
  const result = await verifyCase(c);
  const expected = (c.expect || 'valid') === 'valid';
  if (result.ok !== expected) failures += 1;
  results.push(result);
}
process.stdout.write(JSON.stringify(Array.isArray(input.cases) ? results : results[0]) + '\n');
// exitCode, not process.exit(): exit() ends the process before a pipe has taken more than
// 64 KiB of the output (the differential test's batch was cut at 65,536 bytes).
process.exitCode = failures === 0 ? 0 : 1;
