/* medreg, the command-line client: shared context and helpers. */
#ifndef MR_CLI_H
#define MR_CLI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Exit codes (documented in medreg --help and docs/cli.md). */
enum {
    EXIT_OK = 0,
    EXIT_FAILURE_ = 1, /* anything not listed below */
    EXIT_USAGE = 2,    /* bad command line */
    EXIT_DENIED = 3,   /* the server refused: 401 or 403 */
    EXIT_INVALID = 4,  /* the server rejected the request: other 4xx */
    EXIT_SERVER = 5,   /* the server failed: 5xx */
    EXIT_NETWORK = 6,  /* could not reach the server (TCP, TLS) */
    EXIT_LOCAL = 7     /* a local file, key or certificate problem */
};

/* What the requests of one command share (http_client.c). */
typedef struct cli_http cli_http;

typedef struct cli {
    const char *identity_url, *registry_url, *ledger_url;
    const char *cert, *key, *cacert;
    char as_cert[4096], as_key[4096], as_ca[4096];
    int json;
    const char *token_out; /* patient register: where the PSN token goes */
    cli_http *http;        /* NULL: each request connects anew */
} cli;

typedef enum cli_service { SVC_IDENTITY, SVC_REGISTRY, SVC_LEDGER } cli_service;

typedef struct cli_reply {
    long status;
    char *body; /* NUL-terminated */
    size_t len;
    int transient; /* no answer, for a reason that may pass (refused, reset, timed out) */
} cli_reply;

/* One connection per service for the whole command, kept open between its
 * requests, and TLS sessions resumed: a run of thousands of requests
 * handshakes once. Without it (NULL after a failure) each request connects
 * anew, which works as well. */
cli_http *cli_http_new(void);
void cli_http_free(cli_http *h);

/* Perform one HTTPS request with the client certificate. body may be NULL.
 * query is appended verbatim (already escaped) when non-NULL. Returns an
 * exit code (EXIT_OK when a response arrived, whatever its status). */
int cli_request(const cli *c, cli_service svc, const char *method, const char *path, json_t *body,
                cli_reply *reply);
void cli_reply_free(cli_reply *r);

/* GET a download (an export): a 2xx body goes, as it arrives, to the file
 * out (a temporary file renamed over out only once the whole body came and
 * was synced; on any failure out is untouched) or, out NULL, to stdout; any
 * other reply is held in *reply for cli_finish. No overall time limit: only
 * 300 s without a byte ends it. *bytes: what was written; *records: the CSV
 * records it ended (line breaks outside quotes). On a terminal (stderr, and
 * stdout unless out is set) a line counts the rows (records after the
 * header) and bytes as they come. Returns an exit code as cli_request does,
 * EXIT_LOCAL when the output cannot be written. */
int cli_download(const cli *c, cli_service svc, const char *path, const char *out, size_t *bytes, size_t *records,
                 cli_reply *reply);

/* cli_request, then cli_finish: the whole round trip of most commands. */
int cli_call(const cli *c, cli_service svc, const char *method, const char *path, json_t *body,
             void (*human)(const cli *c, json_t *j));

/* A certificate's SHA-256 fingerprint from the command line, as medreg
 * prints it or as `openssl x509 -fingerprint -sha256` does (upper case,
 * colons), into out (lowercase hex). 0 after a message if it is not one. */
int cli_fingerprint_arg(const char *arg, char out[65]);

/* URL-escape a query value; free() the result. */
char *cli_escape(const char *s);

/* Turn a reply into output and an exit code. For 2xx: with --json print the
 * body, else call human(j) if given. Otherwise print the error to stderr. */
int cli_finish(const cli *c, cli_reply *r, void (*human)(const cli *c, json_t *j));

/* Parse "name=value" identifier arguments into obj. */
int cli_add_pair(json_t *obj, const char *arg);

/* Read a JSON value from an argument: "@FILE" reads the file, "-" stdin. */
json_t *cli_json_arg(const char *arg);

int cmd_pki(cli *c, int argc, char **argv);
int cmd_key(cli *c, int argc, char **argv);
int cmd_health(cli *c, int argc, char **argv);
int cmd_whoami(cli *c, int argc, char **argv);
int cmd_user(cli *c, int argc, char **argv);
int cmd_audit(cli *c, int argc, char **argv);
int cmd_metrics(cli *c, int argc, char **argv);
int cmd_modules(cli *c, int argc, char **argv);
int cmd_patient(cli *c, int argc, char **argv);
int cmd_record(cli *c, int argc, char **argv);
int cmd_study(cli *c, int argc, char **argv);
int cmd_export(cli *c, int argc, char **argv);
int cmd_stats(cli *c, int argc, char **argv);
int cmd_card(cli *c, int argc, char **argv);
int cmd_consent(cli *c, int argc, char **argv);
int cmd_grants(cli *c, int argc, char **argv);
int cmd_alarms(cli *c, int argc, char **argv);
int cmd_pseudonymize(cli *c, int argc, char **argv);
int cmd_oprf(cli *c, int argc, char **argv);
int cmd_deid(cli *c, int argc, char **argv);
int cmd_ledger(cli *c, int argc, char **argv);
int cmd_audit_mine(cli *c, int argc, char **argv);
int cli_ledger_audit_state(const cli *c, int argc, char **argv);
int cli_ledger_events(const cli *c, int argc, char **argv);

/* Network-wide PSNs (commands_oprf.c; the files' formats: oprf_files.h). */
struct mr_oprf_pin;
/* A request or response file opened to be read a piece at a time: a regular
 * file of at most MR_OPRF_FILE_MAX bytes. The descriptor, or -1 after saying
 * why. */
int cli_oprf_file_open(const char *path);
/* A pin file (at most MR_OPRF_PIN_FILE_MAX bytes) read and parsed: 1,
 * else 0 after a message. */
int cli_oprf_pin_load(const char *path, struct mr_oprf_pin *pin);
/* Have the identity service evaluate n blinded elements in batches, the
 * i-th being at(src, i) (read as its batch is sent, so that they need not
 * be copied all at once); fn takes each batch with its proof (non-zero:
 * stop, it said why). */
typedef const uint8_t *(*cli_oprf_element_fn)(const void *src, size_t i);
typedef int (*cli_oprf_batch_fn)(void *ctx, const uint8_t (*blinded)[32], const uint8_t (*evaluated)[32], size_t n,
                                 const uint8_t proof[64]);
int cli_oprf_evaluate(const cli *c, const struct mr_oprf_pin *pin, cli_oprf_element_fn at, const void *src, size_t n,
                      cli_oprf_batch_fn fn, void *ctx);

/* A network-wide run of an offline tool (commands_deid.c): the first pass
 * (collect puts into the table the PSN input of everything that will be
 * written; it returns an exit code), then the evaluation online, into a
 * request file (prepare), or from a response file (finish), both with a
 * 0600 state file holding the blinds' seed and the input's digest (a
 * --finish on another input is refused). */
struct mr_oprf_table;
struct mr_module;
typedef struct cli_network_run {
    const char *pin_path, *prepare, *finish, *state_path, *in_path;
    int (*digest)(void *ctx, uint8_t out[32]); /* 0 with errno set when the input cannot be read */
    int (*collect)(void *ctx, struct mr_oprf_table *t);
    void *ctx;
} cli_network_run;
/* An exit code; EXIT_OK with *prepared set when the run ends after writing
 * the request, else with *table complete for every collected input. */
int cli_network_psns(cli *c, const struct mr_module *module, const cli_network_run *run,
                     struct mr_oprf_table **table, int *prepared);

/* The PKCS#11 library for a command that makes keys on a token: given,
 * else $MEDREG_PKCS11_MODULE, else SoftHSM2's. */
const char *cli_pkcs11_module(const char *given);
/* Make an Ed25519 (x25519 = 0) or X25519 pair on the token uri names (PIN
 * from pin_file, $MEDREG_PKCS11_PIN or asked); pk: its public key. An exit
 * code, after a message naming `what` on failure. */
int cli_key25519_on_token(const char *uri, const char *module, const char *pin_file, int x25519, uint8_t pk[32],
                          const char *what);

/* Read option opt's value s as a whole number from min to max into *out:
 * 1, or 0 with a message ("--days 1O" is an error, never 1 day). */
int cli_number(const char *opt, const char *s, long min, long max, long *out);

/* One progress line on stderr, over the last one: a 40-wide bar at pct
 * (0-100), then what (rows, files); what alone when pct is negative (no
 * total known). For terminals only: the caller checks isatty. */
void cli_progress(int pct, const char *what);

/* A progress bar drawn at most five times a second, and only when on (the
 * caller sets it from isatty). */
typedef struct cli_bar {
    int on, shown;
    struct timespec drawn;
} cli_bar;
/* Draw it, unless drawn less than 200 ms ago and not last. */
void cli_bar_draw(cli_bar *b, int pct, const char *what, int last);
/* Clear its line, before a message is printed where it stands. */
void cli_bar_clear(cli_bar *b);

/* Is s exactly len lowercase hex digits (a patient or record id)? */
int cli_is_hex(const char *s, size_t len);

/* Format a Unix time as ISO 8601 UTC into buf. */
const char *cli_time(long long t, char buf[32]);

/* The subcommand in argv[1], with argc and argv moved past it so that
 * getopt sees its options; NULL, with the usage printed, when there is none. */
const char *cli_subcommand(int *argc, char ***argv, const char *usage);

/* Read a PSN token file (trailing newlines dropped) into *out (malloc'ed);
 * an exit code, with the message printed. */
int cli_read_token_file(const char *path, char **out);

/* Parse "--on identity|registry". */
int cli_parse_service(const char *s, cli_service *out);

#endif
