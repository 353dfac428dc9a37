/* One logged-in PKCS#11 session on the token a URI (RFC 7512) names: the
 * part that certificate-bearing tokens (token_pkcs11.c) and raw service keys
 * (key25519.c) share. Operations on the session are serialised by mu: a
 * PKCS#11 session is not shared safely between threads. */
#ifndef MR_P11_SESSION_H
#define MR_P11_SESSION_H

#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>
#include <pthread.h>

#include "token.h"

typedef struct mr_p11_session {
    CK_FUNCTION_LIST *f;
    CK_SESSION_HANDLE s;
    int initialized, session_open, mu_ready;
    pthread_mutex_t mu;
    char desc[64]; /* "PKCS#11 token 'label'", for messages */
} mr_p11_session;

/* Load the module (the URI's module-path, else spec->module), find the token
 * the URI matches, open a session and log in with the PIN of spec (never
 * retried); rw: a read-write session, to create objects. *uri_out (owned
 * by the caller) is the parsed URI, for object lookups. On failure the
 * session is closed and *errmsg says why. */
MR_MUST_CHECK medreg_err mr_p11_session_open(const mr_token_spec *spec, int rw, mr_p11_session *p,
                                             P11KitUri **uri_out, char **errmsg);
void mr_p11_session_close(mr_p11_session *p);

/* The first object of class cls that matches the URI's id= and object=, or,
 * when id is given, has that CKA_ID. */
CK_RV mr_p11_find(mr_p11_session *p, P11KitUri *uri, CK_OBJECT_CLASS cls, const uint8_t *id, CK_ULONG id_len,
                  CK_OBJECT_HANDLE *out);

/* What the two calls below answer when a module says CKR_OK with a length
 * or a count past the buffer it was given, or CK_UNAVAILABLE_INFORMATION
 * (the standard forbids both; a broken module or card may do it): the
 * caller would otherwise read past its own buffer. */
#define MR_CKR_PAST_BUFFER (CKR_VENDOR_DEFINED | 0x6d72UL)
#define MR_P11_PAST_BUFFER_SAYS "the PKCS#11 module answered a length past the buffer it was given (a broken module)"

/* C_GetAttributeValue of at[0..n-1] (n <= 8), held to the buffers given:
 * an attribute whose answered length exceeds the length it had on entry
 * fails the call with MR_CKR_PAST_BUFFER. A size query (pValue NULL) is
 * passed through. */
CK_RV mr_p11_get_attributes(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE *at,
                            CK_ULONG n);

/* C_GetSlotList of the slots with a token, into slots[0..*n-1] (*n the
 * capacity on entry, the count on return), held to the capacity. */
CK_RV mr_p11_slots_with_token(CK_FUNCTION_LIST *f, CK_SLOT_ID *slots, CK_ULONG *n);

/* The PKCS#11 return values mapped onto medreg's: a refused PIN, a token
 * gone, a mechanism missing; anything else is `otherwise`. */
medreg_err mr_p11_error(CK_RV rv, medreg_err otherwise);

#endif
