#include "medreg/error.h"

const char *medreg_strerror(medreg_err code)
{
    switch (code) {
    case MEDREG_OK: return "ok";
    case MEDREG_ERR_NOMEM: return "out of memory";
    case MEDREG_ERR_INVALID: return "invalid input";
    case MEDREG_ERR_TOOBIG: return "input too large";
    case MEDREG_ERR_IO: return "input/output error";
    case MEDREG_ERR_CRYPTO: return "cryptographic library error";
    case MEDREG_ERR_VERIFY: return "verification failed";
    case MEDREG_ERR_NOTFOUND: return "not found";
    case MEDREG_ERR_EXISTS: return "already exists";
    case MEDREG_ERR_DENIED: return "permission denied";
    case MEDREG_ERR_DB: return "database error";
    case MEDREG_ERR_CONFIG: return "configuration error";
    case MEDREG_ERR_EXPIRED: return "expired";
    case MEDREG_ERR_REPLAY: return "already used";
    case MEDREG_ERR_CONFLICT: return "conflict";
    case MEDREG_ERR_NET: return "network error";
    case MEDREG_ERR_PIN: return "the token refused the PIN (or is locked)";
    case MEDREG_ERR_TOKEN: return "the token is absent, was removed or failed";
    }
    return "unknown error";
}
