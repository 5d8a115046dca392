// The key of gateway.conf's verification cache (njs, Debian's libnginx-mod-http-js).
//
// nginx writes a cache entry's key in clear into the entry's file, and stock nginx has no hash
// function for variables: this turns the credential headers that /_verify passes to the portal
// into a SHA-256 digest, so that the file holds the digest and never the key or token. A plain
// digest is enough: what it hides carries 256 random bits, so it cannot be guessed back.
//
// The key also names the half second it was made in: an answer is reused only within its half
// second, so the cache adds at most BUCKET_MS to the portal's own memory (gateway.conf's header).

import crypto from 'crypto';

const BUCKET_MS = 500;

function verify_cache_key(r) {
    const v = r.variables;
    // Exactly what /_verify sends the portal (header values never hold a line feed): the
    // credential and the scope required, so that a 204 for one scope never answers another.
    const credential = [v.http_x_api_key, v.http_x_access_token, v.gateway_bearer,
                        v.required_scope].join('\n');
    const digest = crypto.createHash('sha256').update(credential).digest('hex');
    return digest + ':' + Math.floor(Date.now() / BUCKET_MS);
}

export default { verify_cache_key };
