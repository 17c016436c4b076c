#pragma once
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/sha.h>

// OpenSSL 3 configures MACs and KDFs through OSSL_PARAM arrays whose names are string macros
// (OSSL_MAC_PARAM_DIGEST, OSSL_KDF_PARAM_KEY, ...). Building those arrays from Swift means keeping
// C strings alive across the call by hand; these typed wrappers keep that in C, where the
// arrays live on the stack for exactly the duration of the call. Each returns 1 on success.

// Zero-length inputs must still be passed as a non-NULL pointer: OpenSSL treats a NULL key as
// "key not given" rather than "empty key".
static const unsigned char copenssl_empty_input[1] = {0};

// HMAC-SHA256 over one contiguous message. `mac` is an EVP_MAC fetched once for "HMAC" and
// shared (fetched algorithm objects are immutable and reference counted, so sharing across
// threads is safe); only the context is per call.
static inline int copenssl_hmac_sha256(EVP_MAC *mac,
                                       const void *key, size_t key_len,
                                       const void *data, size_t data_len,
                                       unsigned char out[32]) {
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    if (ctx == NULL) return 0;
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    size_t out_len = 0;
    int ok = EVP_MAC_init(ctx, key_len > 0 ? key : copenssl_empty_input, key_len, params) == 1
        && EVP_MAC_update(ctx, data_len > 0 ? data : copenssl_empty_input, data_len) == 1
        && EVP_MAC_final(ctx, out, &out_len, 32) == 1
        && out_len == 32;
    EVP_MAC_CTX_free(ctx);
    return ok;
}

// HKDF-SHA256 (RFC 5869), extract-then-expand. An empty salt is left out of the parameters, which
// RFC 5869 §2.2 defines as HashLen zero bytes; an empty info is likewise omitted.
static inline int copenssl_hkdf_sha256(const void *ikm, size_t ikm_len,
                                       const void *salt, size_t salt_len,
                                       const void *info, size_t info_len,
                                       unsigned char *out, size_t out_len) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (kdf == NULL) return 0;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (ctx == NULL) return 0;
    OSSL_PARAM params[5];
    size_t n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
        (void *)(ikm_len > 0 ? ikm : copenssl_empty_input), ikm_len);
    if (salt_len > 0) params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info_len > 0) params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    params[n] = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(ctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(ctx);
    return ok;
}
