/* The services' own outgoing requests (the ledger to its witnesses, the
 * identity service and the registry to the ledger): one HTTPS POST over
 * mutual TLS with the service's certificate, through libcurl, the reply
 * bounded and NUL-terminated. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "service.h"

long mr_service_post(const mr_service *s, const char *url, const char *content_type, const char *body, size_t max,
                     long timeout_ms, char **out, size_t *out_len)
{
    mr_writer r;
    long status = 0;
    struct curl_slist *hdr = NULL;
    char ct[128];
    CURL *h = curl_easy_init();
    *out = NULL;
    *out_len = 0;
    mr_writer_init(&r, max + 1); /* and a NUL */
    if (h == NULL)
        return 0;
    if (content_type) {
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        hdr = curl_slist_append(NULL, ct);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_SSLCERT, s->cfg->tls_cert);
    curl_easy_setopt(h, CURLOPT_SSLKEY, s->cfg->tls_key);
    curl_easy_setopt(h, CURLOPT_CAINFO, s->cfg->client_ca);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, mr_writer_take);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    if (status == 0 || mr_writer_string(&r, out, out_len) != MEDREG_OK) {
        mr_writer_free(&r);
        return 0;
    }
    return status;
}
