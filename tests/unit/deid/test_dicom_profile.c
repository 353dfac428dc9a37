/* Table E.1-1 read and resolved: the basic profile's codes, the combined
 * codes, the options' K and C, the repeating groups and private rule; the
 * UID remapping against an independent computation (Python's hmac); an
 * element where its group does not belong (a meta header's group length
 * gone wrong) removed; a broken table refused with its line; and none of
 * verify's direct identifiers kept or cleaned by any option.
 * usage: test_dicom_profile TABLE.csv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../src/deid/dicom_deid.h"
#include "../../../src/deid/dicom_values.h"
#include "../check.h"

static mr_dcm_rule rule(const char *table, unsigned options, uint16_t g, uint16_t e)
{
    mr_dcm_profile *p = NULL;
    char *err = NULL;
    if (mr_dcm_profile_load(table, options, &p, &err) != MEDREG_OK) {
        fprintf(stderr, "%s\n", err ? err : "?");
        free(err);
        return (mr_dcm_rule)-1;
    }
    mr_dcm_rule r = mr_dcm_profile_rule(p, g, e);
    mr_dcm_profile_free(p);
    return r;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    const char *t = argv[1];
    mr_dcm_profile *p = NULL;
    char *err = NULL;
    CHECK(mr_dcm_profile_load(t, 0, &p, &err) == MEDREG_OK);
    CHECK(p && mr_dcm_profile_rows(p) == 657); /* 653 single tags and the 4 patterns */
    mr_dcm_profile_free(p);

    CHECK(rule(t, 0, 0x0010, 0x0010) == MR_RULE_EMPTY);    /* Patient's Name: Z */
    CHECK(rule(t, 0, 0x0008, 0x0050) == MR_RULE_EMPTY);    /* Accession Number: Z */
    CHECK(rule(t, 0, 0x0008, 0x0018) == MR_RULE_UID);      /* SOP Instance UID: U */
    CHECK(rule(t, 0, 0x0008, 0x0080) == MR_RULE_DUMMY);    /* Institution Name: X/Z/D -> D */
    CHECK(rule(t, 0, 0x0008, 0x1140) == MR_RULE_SEQ_UIDS); /* Referenced Image Sequence: X/Z/U* */
    CHECK(rule(t, 0, 0x0010, 0x1040) == MR_RULE_REMOVE);   /* Patient's Address: X */
    CHECK(rule(t, 0, 0x0008, 0x0020) == MR_RULE_EMPTY);    /* Study Date: Z */
    CHECK(rule(t, 0, 0x0028, 0x0010) == MR_RULE_KEEP);     /* Rows: not in the table */
    CHECK(rule(t, 0, 0x0029, 0x1010) == MR_RULE_REMOVE);   /* private: X */
    CHECK(rule(t, 0, 0x5002, 0x3000) == MR_RULE_REMOVE);   /* curve data */
    CHECK(rule(t, 0, 0x6002, 0x3000) == MR_RULE_REMOVE);   /* overlay data */
    CHECK(rule(t, MR_OPT_RETAIN_LONGITUDINAL_MODIFIED_DATES, 0x0008, 0x0020) == MR_RULE_CLEAN);
    CHECK(rule(t, MR_OPT_RETAIN_LONGITUDINAL_FULL_DATES, 0x0008, 0x0020) == MR_RULE_KEEP);
    CHECK(rule(t, MR_OPT_RETAIN_UIDS, 0x0008, 0x0018) == MR_RULE_KEEP);
    CHECK(rule(t, MR_OPT_RETAIN_PATIENT_CHARACTERISTICS, 0x0010, 0x0040) == MR_RULE_KEEP); /* sex */
    CHECK(rule(t, MR_OPT_RETAIN_DEVICE_IDENTITY, 0x0018, 0x1000) == MR_RULE_KEEP);        /* serial */
    CHECK(rule(t, MR_OPT_CLEAN_DESCRIPTORS, 0x0008, 0x1030) == MR_RULE_CLEAN);            /* study desc. */
    CHECK(rule(t, MR_OPT_RETAIN_SAFE_PRIVATE, 0x0029, 0x1010) == MR_RULE_CLEAN);

    /* mr_dcm_load moves a dataset element out of the meta header and back;
     * one found where its group does not belong all the same is removed,
     * never judged by the other place's rules (a Patient's Address was kept
     * as a meta element, a Source AE Title as an unknown dataset element) */
    mr_dicom_config cfg;
    memset(&cfg, 0, sizeof cfg);
    int psn = 0;
    CHECK(mr_dcm_profile_load(t, 0, &cfg.profile, &err) == MEDREG_OK);
    mr_dcm_elem address_in_meta = {.group = 0x0010, .element = 0x1040, .vr = "LO", .in_meta = 1},
                ae_in_dataset = {.group = 0x0002, .element = 0x0016, .vr = "AE"},
                ae_in_meta = {.group = 0x0002, .element = 0x0016, .vr = "AE", .in_meta = 1},
                syntax_in_meta = {.group = 0x0002, .element = 0x0010, .vr = "UI", .in_meta = 1},
                rows = {.group = 0x0028, .element = 0x0010, .vr = "US"};
    /* in the meta header only what a reader needs is kept: a presentation
     * address (a PACS's URL), an element of no edition go */
    mr_dcm_elem address_url = {.group = 0x0002, .element = 0x0026, .vr = "UR", .in_meta = 1},
                no_edition = {.group = 0x0002, .element = 0xFD00, .vr = "LO", .in_meta = 1},
                version = {.group = 0x0002, .element = 0x0001, .vr = "OB", .in_meta = 1},
                instance = {.group = 0x0002, .element = 0x0003, .vr = "UI", .in_meta = 1};
    CHECK(mr_dicom_classify(&cfg, &address_url, &psn) == MR_RULE_REMOVE);
    CHECK(mr_dicom_classify(&cfg, &no_edition, &psn) == MR_RULE_REMOVE);
    CHECK(mr_dicom_classify(&cfg, &version, &psn) == MR_RULE_KEEP);
    CHECK(mr_dicom_classify(&cfg, &instance, &psn) == MR_RULE_UID);
    CHECK(mr_dicom_classify(&cfg, &address_in_meta, &psn) == MR_RULE_REMOVE);
    CHECK(mr_dicom_classify(&cfg, &ae_in_dataset, &psn) == MR_RULE_REMOVE);
    CHECK(mr_dicom_classify(&cfg, &ae_in_meta, &psn) == MR_RULE_REMOVE);
    CHECK(mr_dicom_classify(&cfg, &syntax_in_meta, &psn) == MR_RULE_KEEP);
    CHECK(mr_dicom_classify(&cfg, &rows, &psn) == MR_RULE_KEEP);
    mr_dcm_profile_free(cfg.profile);
    CHECK(rule(t, MR_OPT_RETAIN_INSTITUTION_IDENTITY, 0x0008, 0x0080) == MR_RULE_KEEP);
    /* options that exclude each other */
    CHECK(mr_dcm_profile_load(t, MR_OPT_RETAIN_LONGITUDINAL_FULL_DATES | MR_OPT_RETAIN_LONGITUDINAL_MODIFIED_DATES,
                              &p, &err) == MEDREG_ERR_CONFIG);
    free(err);

    /* a broken table names its line */
    char bad[] = "/tmp/medreg-e11-XXXXXX";
    int fd = mkstemp(bad);
    FILE *in = fopen(t, "r"), *out = fdopen(fd, "w");
    char line[1024];
    int n = 0;
    while (in && out && fgets(line, sizeof line, in)) {
        if (++n == 5)
            fputs("\"(0010,0010)\",Patient's Name,N,Q,,,,,,,,,,\n", out);
        else
            fputs(line, out);
    }
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    err = NULL;
    CHECK(mr_dcm_profile_load(bad, 0, &p, &err) == MEDREG_ERR_CONFIG);
    CHECK(err && strstr(err, ":5: unknown action code")); /* FILE:LINE, as the ini files */
    free(err);
    unlink(bad);

    /* verify's direct identifiers are looked for whatever the table says:
     * so none of them may be kept or cleaned under the table as shipped,
     * by no option (an option's K or C beats the basic profile), or a
     * correct output would fail */
    size_t nd = 0;
    const uint32_t *direct = mr_dicom_direct_identifiers(&nd);
    CHECK(nd >= 30);
    for (size_t i = 0; i < nd; i++) {
        for (unsigned o = 0; o <= MR_DCM_N_OPTIONS; o++) {
            mr_dcm_rule r = rule(t, o < MR_DCM_N_OPTIONS ? 1u << o : 0, (uint16_t)(direct[i] >> 16),
                                 (uint16_t)direct[i]);
            if (r == MR_RULE_KEEP || r == MR_RULE_CLEAN || r == (mr_dcm_rule)-1) {
                fprintf(stderr, "(%04X,%04X) is kept or cleaned under option %u\n", (unsigned)(direct[i] >> 16),
                        (unsigned)(direct[i] & 0xFFFF), o);
                CHECK(0);
            }
        }
    }

    /* UIDs: 2.25. + the first 128 bits of the HMAC, as Python computes them */
    uint8_t key[32];
    char uid[65];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    static const char in1[] = "1.2.826.0.1.3680043.2.1125.9.111";
    mr_dicom_uid_remap(key, in1, sizeof in1 - 1, uid);
    CHECK_STR(uid, "2.25.202285359491438630612553397666419312151");
    mr_dicom_uid_remap(key, "1.2.3", 5, uid);
    CHECK_STR(uid, "2.25.188535890001673647590873543577605360307");
    return TEST_DONE();
}
