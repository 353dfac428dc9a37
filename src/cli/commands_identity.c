/* medreg patient register | search | show | correct */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/secret.h"
#include "cli.h"

static void print_registered(const cli *c, json_t *j)
{
    (void)c;
    const char *token = json_string_value(json_object_get(j, "psn_token"));
    printf("internal ID: %s%s\n", json_string_value(json_object_get(j, "internal_id")),
           json_is_true(json_object_get(j, "new_relation")) ? " (new)" : " (you registered this patient before)");
    if (c->token_out) {
        if (mr_file_write(c->token_out, token, strlen(token)) != MEDREG_OK)
            fprintf(stderr, "medreg: cannot write the token to %s\n", c->token_out);
        else
        {
            char t[32];
            printf("PSN token written to %s (valid until %s; forward it to the registry with the first record)\n",
                   c->token_out, cli_time((long long)json_integer_value(json_object_get(j, "token_expires_at")), t));
        }
    } else {
        printf("PSN token: %s\n", token);
    }
}

static void print_batch(const cli *c, json_t *j)
{
    size_t i;
    json_t *r;
    (void)c;
    /* one line per patient, in input order: internal ID, then its PSN token */
    json_array_foreach(json_object_get(j, "results"), i, r)
        printf("%s %s\n", json_string_value(json_object_get(r, "internal_id")),
               json_string_value(json_object_get(r, "psn_token")));
}

static void print_patient(const cli *c, json_t *p)
{
    (void)c;
    const char *k;
    json_t *v;
    size_t i;
    printf("patient %s (module %s)\n", json_string_value(json_object_get(p, "id")),
           json_string_value(json_object_get(p, "module")));
    json_t *ids = json_object_get(p, "identifiers");
    json_object_foreach(json_object_get(ids, "original"), k, v) {
        const char *norm = json_string_value(json_object_get(json_object_get(ids, "normalized"), k));
        printf("  %-20s %-30s normalised: %s\n", k, json_string_value(v), norm ? norm : "");
    }
    json_array_foreach(json_object_get(p, "relations"), i, v)
        printf("  internal ID %s\n", json_string_value(json_object_get(v, "internal_id")));
}

static void print_search(const cli *c, json_t *j)
{
    (void)c;
    size_t i;
    json_t *p;
    if (json_array_size(json_object_get(j, "patients")) == 0)
        printf("no patient matches\n");
    json_array_foreach(json_object_get(j, "patients"), i, p) print_patient(c, p);
}

static void print_corrected(const cli *c, json_t *j)
{
    (void)c;
    printf("patient %s corrected%s\n", json_string_value(json_object_get(j, "id")),
           json_is_true(json_object_get(j, "relinked")) ? " and relinked to a new pseudonym" : "");
}

int cmd_patient(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"module", required_argument, NULL, 'm'},
                                         {"id", required_argument, NULL, 'i'},
                                         {"token-out", required_argument, NULL, 't'},
                                         {"field", required_argument, NULL, 'f'},
                                         {"value", required_argument, NULL, 'v'},
                                         {"relink", no_argument, NULL, 'R'},
                                         {"reason", required_argument, NULL, 'r'},
                                         {"file", required_argument, NULL, 'F'},
                                         {NULL, 0, NULL, 0}};
    static const char usage[] =
        "usage: medreg patient register --module M --id NAME=VALUE... [--token-out FILE]\n"
        "       medreg patient search --module M --field NAME --value VALUE\n"
        "       medreg patient show ID\n"
        "       medreg patient correct ID --id NAME=VALUE... [--relink] [--reason TEXT]\n"
        "       medreg patient register-batch --module M --file PATIENTS.json\n"
        "         (a JSON array of up to 1000 identifier objects; all are registered or none;\n"
        "          prints one line per patient: internal ID and PSN token)\n";
    const char *module = NULL, *field = NULL, *value = NULL, *reason = NULL, *token_out = NULL, *file = NULL;
    int relink = 0, opt, code;
    json_t *ids = json_object();

    const char *sub = cli_subcommand(&argc, &argv, usage);
    if (sub == NULL) {
        json_decref(ids);
        return EXIT_USAGE;
    }
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'm': module = optarg; break;
        case 'i':
            if (!cli_add_pair(ids, optarg)) {
                json_decref(ids);
                return EXIT_USAGE;
            }
            break;
        case 't': token_out = optarg; break;
        case 'f': field = optarg; break;
        case 'v': value = optarg; break;
        case 'R': relink = 1; break;
        case 'r': reason = optarg; break;
        case 'F': file = optarg; break;
        default: fputs(usage, stderr); json_decref(ids); return EXIT_USAGE;
        }
    }
    const char *pos = optind < argc ? argv[optind] : NULL;
    int npos = argc - optind;
    code = EXIT_USAGE;
    if (!strcmp(sub, "register") && module && json_object_size(ids) > 0 && npos == 0) {
        json_t *body = json_pack("{s:s,s:O}", "module", module, "identifiers", ids);
        c->token_out = token_out;
        code = cli_call(c, SVC_IDENTITY, "POST", "/v1/patients", body, print_registered);
        c->token_out = NULL;
        json_decref(body);
    } else if (!strcmp(sub, "register-batch") && module && file && npos == 0) {
        char at[4096];
        snprintf(at, sizeof at, "%s%s", strcmp(file, "-") ? "@" : "", file);
        json_t *list = cli_json_arg(at);
        if (list && json_is_array(list)) {
            json_t *body = json_pack("{s:s,s:o}", "module", module, "patients", list);
            code = cli_call(c, SVC_IDENTITY, "POST", "/v1/patients/batch", body, print_batch);
            json_decref(body);
        } else {
            fprintf(stderr, "medreg: %s must hold a JSON array of identifier objects\n", file);
            json_decref(list);
        }
    } else if (!strcmp(sub, "search") && module && field && value && npos == 0) {
        char *em = cli_escape(module), *ef = cli_escape(field), *ev = cli_escape(value), *path = NULL;
        if (em && ef && ev && asprintf(&path, "/v1/patients?module=%s&field=%s&value=%s", em, ef, ev) > 0) {
            code = cli_call(c, SVC_IDENTITY, "GET", path, NULL, print_search);
        }
        free(em);
        free(ef);
        free(ev);
        free(path);
    } else if (!strcmp(sub, "show") && npos == 1 && cli_is_hex(pos, 32)) {
        char *path = NULL;
        if (asprintf(&path, "/v1/patients/%s", pos) > 0) {
            code = cli_call(c, SVC_IDENTITY, "GET", path, NULL, print_patient);
        }
        free(path);
    } else if (!strcmp(sub, "correct") && npos == 1 && cli_is_hex(pos, 32) && json_object_size(ids) > 0) {
        char *path = NULL;
        json_t *body = json_pack("{s:O,s:b}", "identifiers", ids, "relink", relink);
        if (reason)
            json_object_set_new(body, "reason", json_string(reason));
        if (asprintf(&path, "/v1/patients/%s", pos) > 0) {
            code = cli_call(c, SVC_IDENTITY, "PUT", path, body, print_corrected);
        }
        json_decref(body);
        free(path);
    } else {
        fputs(usage, stderr);
    }
    json_decref(ids);
    return code;
}
