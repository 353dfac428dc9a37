/* The reading half of a ledger client, shared by `medreg ledger` and
 * `medreg audit`: a checkpoint is trusted only under the log's key, the
 * witness policy and consistency with the last one trusted, and an entry
 * only with its inclusion proof (docs/ledger.md). */
#ifndef MR_LEDGER_CLIENT_H
#define MR_LEDGER_CLIENT_H

#include <getopt.h>

#include "../ledger/merkle.h"
#include "../ledger/note.h"
#include "cli.h"

/* What a client trusts: the log's key, the witnesses and how many must
 * cosign, and the checkpoint it trusted last (a state file). */
typedef struct cli_ledger_policy {
    mr_note_verifier v, witnesses[16];
    size_t nw;
    long quorum;
    const char *vkey, *state;
} cli_ledger_policy;

/* The options that set a policy, for a getopt_long table. */
#define CLI_LEDGER_POLICY_OPTIONS                                                                            \
    {"vkey", required_argument, NULL, 'v'}, {"state", required_argument, NULL, 's'},                        \
        {"witness", required_argument, NULL, 'w'}, {"quorum", required_argument, NULL, 'q'}

void cli_ledger_policy_init(cli_ledger_policy *p);
/* One option of the table above: 1 taken, 0 bad (a message was printed),
 * -1 not a policy option. */
int cli_ledger_policy_opt(cli_ledger_policy *p, int opt, const char *arg);
/* After the options: 1 if the policy is complete (--vkey given, the quorum possible). */
int cli_ledger_policy_done(cli_ledger_policy *p);

/* A key given as text or @FILE (its first line). */
int cli_ledger_read_key(const char *arg, mr_note_verifier *v);

/* GET path from the ledger; EXIT_OK with the body only on status 200. */
int cli_ledger_fetch(const cli *c, const char *path, cli_reply *r);

/* The base64 hashes of a JSON proof. */
int cli_ledger_hashes(json_t *arr, mr_hash *out, size_t *n);

/* The newest checkpoint into *r and *cp, if it is signed by the log,
 * cosigned as the policy says, and consistent with the trusted one. quiet:
 * no report on stdout. */
int cli_ledger_checkpoint(const cli *c, const cli_ledger_policy *p, int quiet, cli_reply *r, mr_checkpoint *cp);

/* Keep the checkpoint in r as the trusted one (with --state). */
int cli_ledger_trust(const cli_ledger_policy *p, const cli_reply *r);

/* Entry idx, proven included in cp's tree; *data malloc'ed. */
int cli_ledger_entry(const cli *c, const mr_checkpoint *cp, uint64_t idx, uint8_t **data, size_t *len);

/* Every entry of cp's tree, through the entry bundles, must rebuild its
 * root, and every hash tile must hold the rebuilt tree's hashes. Each entry
 * is passed to fn (if not NULL) before the root is checked: act on them
 * only when this returns EXIT_OK. */
typedef void (*cli_ledger_entry_fn)(void *user, uint64_t idx, const uint8_t *data, size_t len);
int cli_ledger_replay(const cli *c, const mr_checkpoint *cp, cli_ledger_entry_fn fn, void *user);

#endif
