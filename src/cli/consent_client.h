/* The client half of a consent session, shared by `medreg consent` and the
 * integration tests' attack client, which uses the hooks to send what an
 * attacker would. The medreg CLI never sets them. */
#ifndef MR_CONSENT_CLIENT_H
#define MR_CONSENT_CLIENT_H

#include "../consent/consent.h"
#include "cli.h"

typedef struct consent_args {
    const char *module, *internal_id, *token_file, *patient, *physician;
    const char *patient_pin_file, *physician_pin_file, *exclude, *grantee;
    const char *grant; /* revoke, expire: one grant */
    long days;
    json_t **reply;    /* if set, the registry's final reply goes here instead of stdout */
} consent_args;

typedef struct consent_tamper consent_tamper;
struct consent_tamper {
    /* after the session is open, before any card operation */
    void (*after_start)(const consent_tamper *t);
    /* after the fingerprint (and answer) are made, before they are sent;
     * may change them; *m is malloc'ed */
    medreg_err (*before_send)(const consent_tamper *t, mr_fingerprint_msg *fm, const uint8_t k[MR_CONSENT_K_BYTES],
                              uint8_t **m, size_t *m_len);
    int use_k; /* answer with k below instead of what the card opens */
    uint8_t k[MR_CONSENT_K_BYTES];
    /* before the answer is sealed (for this very session): may change the
     * nonce and the digest of the terms it answers */
    void (*before_answer)(const consent_tamper *t, uint8_t nonce[MR_CONSENT_NONCE_BYTES], uint8_t terms_digest[32]);
    /* after the finish (altered by before_send or not), send the finish as
     * it was made before before_send to the same session */
    int finish_again;
    void *user;
};

/* The options that name the session and its cards, shared by every command
 * that runs one (medreg consent, medreg audit mine), for a getopt_long table. */
#define CLI_CARD_OPTIONS                                                                                     \
    {"module", required_argument, NULL, 'm'}, {"internal-id", required_argument, NULL, 'i'},                \
        {"token-file", required_argument, NULL, 'T'}, {"patient-card", required_argument, NULL, 'p'},       \
        {"physician-card", required_argument, NULL, 'd'}, {"patient-pin-file", required_argument, NULL, 'P'}, \
        {"physician-pin-file", required_argument, NULL, 'D'}

/* One option of the table above into a: 1 taken, 0 not one of them. */
int cli_card_opt(consent_args *a, int opt, const char *arg);
/* The module, internal ID and both cards are given. */
int cli_card_args_complete(const consent_args *a);

/* kind: enroll, replace, consent, revoke, expire (a revoke that sets when
 * one grant ends) or audit. Returns an exit code. */
int cli_consent_run(const cli *c, const char *kind, const consent_args *a, const consent_tamper *t);

#endif
