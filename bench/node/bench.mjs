// Node's `jose` (jwtVerify, strict options) against Node's own floor (node:crypto verify plus
// base64url and JSON.parse of header and payload), interleaved like bench/_timing.py.
// Input (argv[2]): JSON written by bench/run.py. Output (stdout): per-round per-call micros.
import { readFileSync } from "node:fs";
import { createPublicKey, createSecretKey, createHmac, timingSafeEqual, verify as cverify, constants } from "node:crypto";
import { importJWK, jwtVerify } from "jose";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));

function b64d(s) {
  return Buffer.from(s, "base64url");
}

function floorFor(c) {
  if (c.alg === "HS256") {
    const secret = createSecretKey(b64d(c.jwk.k));
    const raw = secret.export();
    return (token) => {
      const [h, p, s] = token.split(".");
      JSON.parse(b64d(h).toString());
      const claims = JSON.parse(b64d(p).toString());
      const mac = createHmac("sha256", raw).update(`${h}.${p}`).digest();
      if (!timingSafeEqual(mac, b64d(s))) throw new Error("bad signature");
      return claims;
    };
  }
  const key = createPublicKey({ key: c.jwk, format: "jwk" });
  const opts = {
    ES256: ["sha256", { key, dsaEncoding: "ieee-p1363" }],
    RS256: ["sha256", key],
    PS256: ["sha256", { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }],
    Ed25519: [null, key],
  }[c.alg];
  return (token) => {
    const [h, p, s] = token.split(".");
    JSON.parse(b64d(h).toString());
    const claims = JSON.parse(b64d(p).toString());
    if (!cverify(opts[0], Buffer.from(`${h}.${p}`), opts[1], b64d(s))) throw new Error("bad signature");
    return claims;
  };
}

async function joseFor(c) {
  const key = await importJWK({ ...c.jwk }, c.alg);
  const options = {
    algorithms: [c.alg],
    issuer: c.iss,
    audience: c.aud,
    typ: c.typ,
    clockTolerance: c.leeway,
    requiredClaims: ["exp", "iat", "sub", "jti", "iss", "aud"],
  };
  return async (token) => (await jwtVerify(token, key, options)).payload;
}

// CPU time (user + system, microseconds) like bench/_timing.py, not wall-clock time. WebCrypto
// may run a verification on libuv's thread pool; process-wide CPU time counts that too.
function cpuMicros() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function chunkSync(fn, token, n) {
  const t0 = cpuMicros();
  for (let i = 0; i < n; i++) fn(token);
  return (cpuMicros() - t0) / n;
}

async function chunkAsync(fn, token, n) {
  const t0 = cpuMicros();
  for (let i = 0; i < n; i++) await fn(token);
  return (cpuMicros() - t0) / n;
}

const chunkMicros = input.chunk_seconds * 1e6;
const out = { node: process.version, jose: input.jose_version, results: {} };
for (const c of input.cases) {
  const floor = floorFor(c);
  const jose = await joseFor(c);
  // Strictness check: the good token passes, the bad ones are refused.
  const good = await jose(c.token);
  if (good.sub !== c.sub) throw new Error(`${c.alg}: jose returned ${JSON.stringify(good)}`);
  floor(c.token);
  for (const bad of c.bad_tokens) {
    let refused = false;
    try { await jose(bad); } catch { refused = true; }
    if (!refused) throw new Error(`${c.alg}: jose accepted a bad token`);
  }
  // Calibrate and warm up (the JIT needs it more than CPython does).
  const nFloor = Math.max(1, Math.round(chunkMicros / chunkSync(floor, c.token, 200)));
  const nJose = Math.max(1, Math.round(chunkMicros / (await chunkAsync(jose, c.token, 200))));
  const res = { floor: [], jose: [] };
  for (let r = 0; r < input.rounds; r++) {
    if (r % 2 === 0) {
      res.floor.push(chunkSync(floor, c.token, nFloor));
      res.jose.push(await chunkAsync(jose, c.token, nJose));
    } else {
      res.jose.push(await chunkAsync(jose, c.token, nJose));
      res.floor.push(chunkSync(floor, c.token, nFloor));
    }
  }
  out.results[c.alg] = res;
}
process.stdout.write(JSON.stringify(out));
