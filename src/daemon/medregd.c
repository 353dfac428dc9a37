/* medregd: one binary for every service role. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../config/service_config.h"
#include "../core/secret.h"
#include "../pki/pki.h"
#include "../service/service.h"
#include "../store/db.h"

/* The one piece of process-global state: signal handlers can reach nothing else. */
static volatile int g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *fp)
{
    fputs("usage: medregd --config FILE [--role identity|registry|ledger|witness] [COMMAND]\n"
          "\n"
          "Runs one medreg service: the identity service (patients' identifying data,\n"
          "pseudonyms, internal IDs), the registry (anonymous records, study exports), the\n"
          "ledger (a verifiable log) or a witness (cosigns the ledger's checkpoints).\n"
          "Every request is HTTPS with a client certificate from the configured CA.\n"
          "\n"
          "commands:\n"
          "  (none)                  serve until SIGTERM or SIGINT\n"
          "  --check                 load configuration, modules, keys and database; exit\n"
          "  --add-admin CERT.pem    register the holder of CERT.pem as the service's first\n"
          "                          administrator (run on the server host; writes the\n"
          "                          database directly and records it in the audit table)\n"
          "  --name NAME             the administrator's display name (with --add-admin)\n"
          "\n"
          "options:\n"
          "  -c, --config FILE       service configuration (see docs/running.md)\n"
          "  -r, --role ROLE         identity, registry, ledger or witness (must agree with the file)\n"
          "  -h, --help              this text\n"
          "\n"
          "exit status: 0 ok, 1 runtime error, 2 usage, 3 bad configuration\n",
          fp);
}

static int add_admin(mr_service *s, const char *cert_path, const char *name)
{
    char *pem = NULL;
    size_t len = 0;
    char fpr[65];
    mr_conn *c = NULL;
    int ok = 0;
    medreg_err rc = mr_file_read(cert_path, 1 << 16, &pem, &len);
    if (rc != MEDREG_OK || mr_cert_fingerprint_pem(pem, len, fpr) != MEDREG_OK) {
        fprintf(stderr, "medregd: %s: not a readable PEM certificate\n", cert_path);
        goto out;
    }
    rc = mr_db_acquire(s->db, &c);
    if (rc == MEDREG_OK)
        rc = mr_conn_begin(c);
    if (rc == MEDREG_OK)
        rc = mr_user_insert(c, fpr, "admin", "", name, "bootstrap");
    if (rc == MEDREG_OK)
        rc = mr_conn_commit(c);
    if (rc == MEDREG_ERR_EXISTS) {
        printf("%s is already an administrator (%s)\n", name, fpr);
        ok = 1;
    } else if (rc != MEDREG_OK) {
        fprintf(stderr, "medregd: could not add the administrator: %s\n", medreg_strerror(rc));
    } else {
        printf("administrator %s added (certificate SHA-256 %s)\n", name, fpr);
        ok = 1;
    }
out:
    mr_db_release(s->db, c);
    free(pem);
    return ok;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"role", required_argument, NULL, 'r'},
                                         {"check", no_argument, NULL, 'k'},
                                         {"add-admin", required_argument, NULL, 'a'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL, *admin_cert = NULL, *admin_name = "administrator";
    mr_role role = MR_ROLE_NONE;
    int check = 0, opt;
    mr_service_config *cfg = NULL;
    mr_service *svc = NULL;
    char *err = NULL;
    int status = 1;

    /* before anything is read: no copies of registers left on stacks */
    if (mr_bind_now(argv) != MEDREG_OK)
        fprintf(stderr, "medregd: cannot run again with LD_BIND_NOW=1 (%s): library calls stay lazily bound\n",
                strerror(errno));

    while ((opt = getopt_long(argc, argv, "c:r:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case 'r':
            if (!strcmp(optarg, "identity"))
                role = MR_ROLE_IDENTITY;
            else if (!strcmp(optarg, "registry"))
                role = MR_ROLE_REGISTRY;
            else if (!strcmp(optarg, "ledger"))
                role = MR_ROLE_LEDGER;
            else if (!strcmp(optarg, "witness"))
                role = MR_ROLE_WITNESS;
            else {
                fprintf(stderr, "medregd: --role must be identity, registry, ledger or witness\n");
                return 2;
            }
            break;
        case 'k': check = 1; break;
        case 'a': admin_cert = optarg; break;
        case 'n': admin_name = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (config == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    /* glibc gives each busy thread its own heap arena; with 16 workers their
     * retained memory, not the data, dominated peak RSS (79 vs 59 MiB) */
    mallopt(M_ARENA_MAX, 2);
    /* SQLite opens and closes a temporary b-tree for every RETURNING clause
     * and IN list; below this threshold, closing one handed its memory back
     * to the kernel (brk) and the next statement took it again: 14% of the
     * registry's time under consent load */
    mallopt(M_TRIM_THRESHOLD, 4 << 20);
    mr_memory_private(); /* no core dumps: they would carry keys and identifying data */
    if (sodium_init() < 0) {
        fprintf(stderr, "medregd: libsodium failed to initialise\n");
        return 1;
    }
    mr_json_wipe_freed();
    if (mr_service_config_load(config, role, &cfg, &err) != MEDREG_OK) {
        fprintf(stderr, "medregd: %s\n", err ? err : "cannot load the configuration");
        free(err);
        return 3;
    }
    if (mr_service_open(cfg, &svc, &err) != MEDREG_OK) {
        fprintf(stderr, "medregd: %s\n", err ? err : "cannot start the service");
        free(err);
        mr_service_config_free(cfg);
        return 3;
    }
    if (check) {
        printf("%s: configuration, %zu module(s), keys and database are fine\n", config, svc->n_modules);
        status = 0;
    } else if (admin_cert) {
        status = add_admin(svc, admin_cert, admin_name) ? 0 : 1;
    } else {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        status = mr_http_serve(svc, &g_stop) == MEDREG_OK ? 0 : 1;
        fprintf(stderr, "medregd: %s service stopped\n", mr_role_name(cfg->role));
    }
    mr_service_close(svc);
    mr_service_config_free(cfg);
    return status;
}
