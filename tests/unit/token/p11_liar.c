/* A PKCS#11 module that breaks the standard on request, for tests: it
 * forwards every call to a real module (P11_LIAR_MODULE, SoftHSM2 in the
 * tests) and, as P11_LIAR_LIE says at the time of the call, answers CKR_OK
 * with a length or a count past the caller's buffer:
 *   attribute    every attribute read into a buffer: its length + 4096
 *   unavailable  every attribute read into a buffer: CK_UNAVAILABLE_INFORMATION
 *   signature    C_Sign's length + 4096
 *   plaintext    C_Decrypt's length + 4096
 *   slots        C_GetSlotList's count: the list's capacity + 64
 *   short        every attribute read into a buffer: its length - 1
 *   flip         every attribute read into a buffer: its first byte flipped
 * unset or anything else: the truth. Apart from flip, only the lengths lie,
 * never the bytes written, so that whatever reads past its buffer is the
 * caller (which AddressSanitizer then names). A module's function list is process-wide
 * by the standard's design, hence the one static list here. */
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <stdlib.h>
#include <string.h>

#define MORE 4096

static CK_FUNCTION_LIST liar;
static CK_FUNCTION_LIST_PTR real;

static int lying(const char *what)
{
    const char *lie = getenv("P11_LIAR_LIE");
    return lie != NULL && strcmp(lie, what) == 0;
}

static CK_RV liar_get_attribute_value(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR at, CK_ULONG n)
{
    CK_ULONG cap[32];
    for (CK_ULONG i = 0; i < n && i < 32; i++)
        cap[i] = at[i].ulValueLen;
    CK_RV rv = real->C_GetAttributeValue(s, o, at, n);
    for (CK_ULONG i = 0; rv == CKR_OK && i < n && i < 32; i++) {
        if (at[i].pValue == NULL)
            continue;
        if (lying("attribute"))
            at[i].ulValueLen = cap[i] + MORE;
        else if (lying("unavailable"))
            at[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
        else if (lying("short") && at[i].ulValueLen > 0 && at[i].ulValueLen != CK_UNAVAILABLE_INFORMATION)
            at[i].ulValueLen--;
        else if (lying("flip") && at[i].ulValueLen > 0 && at[i].ulValueLen != CK_UNAVAILABLE_INFORMATION)
            ((CK_BYTE_PTR)at[i].pValue)[0] ^= 1;
    }
    return rv;
}

static CK_RV liar_sign(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG inl, CK_BYTE_PTR sig, CK_ULONG_PTR sl)
{
    CK_RV rv = real->C_Sign(s, in, inl, sig, sl);
    if (rv == CKR_OK && sig != NULL && lying("signature"))
        *sl += MORE;
    return rv;
}

static CK_RV liar_decrypt(CK_SESSION_HANDLE s, CK_BYTE_PTR ct, CK_ULONG ctl, CK_BYTE_PTR pt, CK_ULONG_PTR ptl)
{
    CK_RV rv = real->C_Decrypt(s, ct, ctl, pt, ptl);
    if (rv == CKR_OK && pt != NULL && lying("plaintext"))
        *ptl += MORE;
    return rv;
}

static CK_RV liar_get_slot_list(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR n)
{
    CK_ULONG cap = *n;
    CK_RV rv = real->C_GetSlotList(present, list, n);
    if (rv == CKR_OK && list != NULL && lying("slots"))
        *n = cap + 64;
    return rv;
}

/* the one symbol a module exports (the build hides the rest) */
__attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out);

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
    if (real == NULL) {
        const char *path = getenv("P11_LIAR_MODULE");
        void *h = path ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
        CK_C_GetFunctionList get = h ? (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList") : NULL;
        if (get == NULL || get(&real) != CKR_OK || real == NULL)
            return CKR_GENERAL_ERROR;
        liar = *real;
        liar.C_GetAttributeValue = liar_get_attribute_value;
        liar.C_Sign = liar_sign;
        liar.C_Decrypt = liar_decrypt;
        liar.C_GetSlotList = liar_get_slot_list;
    }
    *out = &liar;
    return CKR_OK;
}
