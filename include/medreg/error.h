/* medreg — error codes shared by every public function.
 *
 * Every function that can fail returns a medreg_err: 0 on success, a negative
 * code otherwise. Results travel through out-parameters. A failed verification
 * reports MEDREG_ERR_VERIFY and nothing more, so that no caller becomes an
 * oracle for which check failed. */
#ifndef MEDREG_ERROR_H
#define MEDREG_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MEDREG_EXPORT __attribute__((visibility("default")))
#define MEDREG_MUST_CHECK __attribute__((warn_unused_result))
#else
#define MEDREG_EXPORT
#define MEDREG_MUST_CHECK
#endif

typedef enum medreg_err {
    MEDREG_OK = 0,
    MEDREG_ERR_NOMEM = -1,     /* allocation failed */
    MEDREG_ERR_INVALID = -2,   /* malformed input */
    MEDREG_ERR_TOOBIG = -3,    /* input above a fixed bound */
    MEDREG_ERR_IO = -4,        /* file or socket error */
    MEDREG_ERR_CRYPTO = -5,    /* a cryptographic library failed */
    MEDREG_ERR_VERIFY = -6,    /* a signature, MAC or check failed */
    MEDREG_ERR_NOTFOUND = -7,  /* no such object */
    MEDREG_ERR_EXISTS = -8,    /* object already exists */
    MEDREG_ERR_DENIED = -9,    /* caller is not allowed */
    MEDREG_ERR_DB = -10,       /* storage engine error */
    MEDREG_ERR_CONFIG = -11,   /* bad configuration */
    MEDREG_ERR_EXPIRED = -12,  /* token or object expired */
    MEDREG_ERR_REPLAY = -13,   /* one-time object used twice */
    MEDREG_ERR_CONFLICT = -14, /* state does not allow the change */
    MEDREG_ERR_NET = -15,      /* network error (client side) */
    MEDREG_ERR_PIN = -16,      /* a token refused the PIN, or it is locked */
    MEDREG_ERR_TOKEN = -17     /* the token is absent, was removed or failed */
} medreg_err;

/* A static, human-readable description of code. Never NULL. */
MEDREG_EXPORT const char *medreg_strerror(medreg_err code);

#ifdef __cplusplus
}
#endif
#endif
