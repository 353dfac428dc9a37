/* medreg record add | correct | list | show, and medreg export */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/secret.h"
#include "cli.h"

static void print_filed(const cli *c, json_t *j)
{
    (void)c;
    printf("record %s version %lld filed\n", json_string_value(json_object_get(j, "record_id")),
           (long long)json_integer_value(json_object_get(j, "version")));
}

static void print_record(const cli *c, json_t *rec)
{
    (void)c;
    char *data = json_dumps(json_object_get(rec, "data"), JSON_COMPACT | JSON_SORT_KEYS);
    char *withheld = json_dumps(json_object_get(rec, "withheld"), JSON_COMPACT);
    if (json_is_false(json_object_get(rec, "own")))
        /* another physician's record, shown under the patient's consent */
        printf("%s v%lld  (another physician's, grant %.8s…; withheld %s)  %s\n",
               json_string_value(json_object_get(rec, "record_id")),
               (long long)json_integer_value(json_object_get(rec, "version")),
               json_string_value(json_object_get(rec, "grant")), withheld ? withheld : "[]", data ? data : "");
    else
        printf("%s v%lld  %s  %s\n", json_string_value(json_object_get(rec, "record_id")),
               (long long)json_integer_value(json_object_get(rec, "version")),
               json_string_value(json_object_get(rec, "internal_id")), data ? data : "");
    free(withheld);
    free(data);
}

static void print_list(const cli *c, json_t *j)
{
    (void)c;
    size_t i;
    json_t *rec;
    if (json_array_size(json_object_get(j, "records")) == 0)
        printf("no records\n");
    json_array_foreach(json_object_get(j, "records"), i, rec) print_record(c, rec);
}

static void print_versions(const cli *c, json_t *j)
{
    (void)c;
    size_t i;
    json_t *rec;
    json_array_foreach(json_object_get(j, "versions"), i, rec) print_record(c, rec);
}

int cmd_record(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"module", required_argument, NULL, 'm'},
                                         {"internal-id", required_argument, NULL, 'i'},
                                         {"token", required_argument, NULL, 't'},
                                         {"token-file", required_argument, NULL, 'T'},
                                         {"data", required_argument, NULL, 'd'},
                                         {NULL, 0, NULL, 0}};
    static const char usage[] =
        "usage: medreg record add --module M --internal-id ID [--token T | --token-file F] --data JSON\n"
        "       medreg record correct RECORD_ID --data JSON\n"
        "       medreg record list --module M [--internal-id ID]\n"
        "       medreg record show RECORD_ID\n"
        "JSON is inline, @FILE, or - for standard input.\n";
    const char *module = NULL, *iid = NULL, *token = NULL, *token_file = NULL, *data_arg = NULL;
    char *token_buf = NULL;
    json_t *data = NULL;
    int opt, code = EXIT_USAGE;

    const char *sub = cli_subcommand(&argc, &argv, usage);
    if (sub == NULL)
        return EXIT_USAGE;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'm': module = optarg; break;
        case 'i': iid = optarg; break;
        case 't': token = optarg; break;
        case 'T': token_file = optarg; break;
        case 'd': data_arg = optarg; break;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    const char *pos = optind < argc ? argv[optind] : NULL;
    int npos = argc - optind;
    if (token_file) {
        if ((code = cli_read_token_file(token_file, &token_buf)) != EXIT_OK)
            return code;
        token = token_buf;
    }
    if (data_arg && (data = cli_json_arg(data_arg)) == NULL) {
        free(token_buf);
        return EXIT_USAGE;
    }
    if (!strcmp(sub, "add") && module && iid && data && npos == 0) {
        json_t *body = json_pack("{s:s,s:s,s:O}", "module", module, "internal_id", iid, "data", data);
        if (token)
            json_object_set_new(body, "psn_token", json_string(token));
        code = cli_call(c, SVC_REGISTRY, "POST", "/v1/records", body, print_filed);
        json_decref(body);
    } else if (!strcmp(sub, "correct") && npos == 1 && cli_is_hex(pos, 32) && data) {
        char *path = NULL;
        json_t *body = json_pack("{s:O}", "data", data);
        if (asprintf(&path, "/v1/records/%s/versions", pos) > 0) {
            code = cli_call(c, SVC_REGISTRY, "POST", path, body, print_filed);
        }
        json_decref(body);
        free(path);
    } else if (!strcmp(sub, "list") && module && npos == 0) {
        char *em = cli_escape(module), *ei = iid ? cli_escape(iid) : NULL, *path = NULL;
        if (em && (iid == NULL || ei) &&
            asprintf(&path, "/v1/records?module=%s%s%s", em, ei ? "&internal_id=" : "", ei ? ei : "") > 0) {
            code = cli_call(c, SVC_REGISTRY, "GET", path, NULL, print_list);
        }
        free(em);
        free(ei);
        free(path);
    } else if (!strcmp(sub, "show") && npos == 1 && cli_is_hex(pos, 32)) {
        char *path = NULL;
        if (asprintf(&path, "/v1/records/%s", pos) > 0) {
            code = cli_call(c, SVC_REGISTRY, "GET", path, NULL, print_versions);
        }
        free(path);
    } else {
        fputs(usage, stderr);
    }
    json_decref(data);
    if (token_buf) {
        mr_wipe(token_buf, strlen(token_buf));
        free(token_buf);
    }
    return code;
}

int cmd_export(cli *c, int argc, char **argv)
{
    static const char USAGE[] =
        "usage: medreg export --module M --study STUDY [--spreadsheet] [-o FILE]\n"
        "  the study's CSV extract, streamed to FILE (replaced only once all of it came) or stdout\n"
        "  --spreadsheet  a text value that a spreadsheet would evaluate as a formula (it starts\n"
        "                 with = + - @, a tab or a CR) gets a leading apostrophe\n";
    static const struct option opts[] = {{"module", required_argument, NULL, 'm'},
                                         {"study", required_argument, NULL, 's'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"spreadsheet", no_argument, NULL, 'S'},
                                         {NULL, 0, NULL, 0}};
    const char *module = NULL, *study = NULL, *out = NULL;
    int opt, code = EXIT_USAGE, spreadsheet = 0;
    while ((opt = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (opt == 'm')
            module = optarg;
        else if (opt == 's')
            study = optarg;
        else if (opt == 'o')
            out = optarg;
        else if (opt == 'S')
            spreadsheet = 1;
        else
            return EXIT_USAGE;
    }
    if (module == NULL || study == NULL || optind != argc) {
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    char *em = cli_escape(module), *es = cli_escape(study), *path = NULL;
    cli_reply r;
    size_t bytes = 0, records = 0;
    if (em && es &&
        asprintf(&path, "/v1/export?module=%s&study=%s%s", em, es, spreadsheet ? "&cells=spreadsheet" : "") > 0) {
        code = cli_download(c, SVC_REGISTRY, path, out, &bytes, &records, &r);
        if (code == EXIT_OK && r.status >= 200 && r.status < 300) {
            if (out) /* the header is a record of the CSV, not a row of the study */
                fprintf(stderr, "wrote %zu rows (%zu bytes) to %s\n", records ? records - 1 : 0, bytes, out);
            cli_reply_free(&r);
        } else if (code == EXIT_OK) {
            code = cli_finish(c, &r, NULL);
        } else {
            cli_reply_free(&r);
        }
    }
    free(em);
    free(es);
    free(path);
    return code;
}
