/* Offline pseudonymisation and de-identification of CSV tables (seed 002;
 * docs/deid.md): every column has a role; identifier columns feed the PSN
 * (the identity service's own derivation, so both agree) and are removed;
 * the HIPAA Safe Harbor identifier kinds are removed or generalised; the
 * rest is kept. Streamed, so memory stays flat whatever the input size. */
#ifndef MR_CSV_DEID_H
#define MR_CSV_DEID_H

#include <stdint.h>
#include <stdio.h>

#include "../config/module.h"
#include "../core/safety.h"
#include "oprf_table.h"

#define MR_CSV_MAX_COLUMNS 512
#define MR_CSV_MAX_FIELD 65536 /* bytes in one field */

typedef enum mr_csv_action {
    MR_CSV_KEEP = 0,
    MR_CSV_IDENTIFIER, /* feeds the PSN, then removed */
    MR_CSV_REMOVE,     /* a Safe Harbor identifier kind that cannot be kept in any form */
    MR_CSV_DATE,       /* to the year, or shifted by a per-patient keyed offset */
    MR_CSV_AGE,        /* over 89 becomes "90+" */
    MR_CSV_ZIP,        /* the first three digits; "000" where the population is too small */
    MR_CSV_TEXT        /* kept, unless it holds one of the row's removed values (free_text.h) */
} mr_csv_action;

typedef struct mr_csv_column {
    char *name;           /* the header, exactly */
    unsigned position;    /* 1-based, for a column configured by position (its header is then checked); 0: by name */
    char *label;          /* for messages and the report: the header, and the position where one was given */
    char kind[32];        /* the role as written: identifier, name, phone, … */
    mr_csv_action action;
    const mr_ident_def *ident; /* identifiers: the module's identifier it fills */
} mr_csv_column;

typedef struct mr_csv_config {
    char *path;
    mr_module *module;
    int date_shift;         /* 0: dates to the year; 1: keyed per-patient shift */
    int dates_mdy;          /* dates written with '/' are month/day/year */
    char delim;             /* between fields, in the input and the output: ',' (RFC 4180), ';', '\t' or '|' */
    int no_header_row;      /* the input starts with data: every column has its role by position */
    int has_text;           /* a column has the text role: rows are checked for it */
    char encoding[16];      /* the input's, when not UTF-8: windows-1252, iso-8859-1/-15, utf-16[le/be] (recode.h) */
    uint8_t zip3_restricted[1000]; /* by three-digit ZIP prefix: 1 where 20,000 people or fewer live */
    mr_csv_column cols[MR_CSV_MAX_COLUMNS];
    size_t n_cols;
} mr_csv_config;

/* Parse the table's configuration (INI; docs/deid.md). *errmsg names the
 * file, line and problem. */
MR_MUST_CHECK medreg_err mr_csv_config_load(const char *path, mr_csv_config **out, char **errmsg);
void mr_csv_config_free(mr_csv_config *c);

typedef struct mr_csv_report {
    uint64_t rows, written, rejected;
    uint64_t changed[MR_CSV_MAX_COLUMNS]; /* per configured column: values removed or changed */
    FILE *rejects;                         /* "line,reason" rows also go here when set */
    unsigned threads;                      /* threads that transform, the caller's included (0: 1) */
    uint64_t bytes_in;                     /* input bytes read so far (for progress) */
    void (*progress)(void *ctx, uint64_t rows); /* every 100,000 rows, when set */
    void *progress_ctx;
} mr_csv_report;



/* Read CSV from in (RFC 4180, UTF-8, an optional BOM), write the
 * de-identified table to out: a "psn" column, then the kept and generalised
 * columns in input order. Rows that cannot be processed (ragged, invalid
 * UTF-8, a missing or malformed identifier, an unreadable date, age or ZIP)
 * are not written; each goes to rep->rejects as line,reason. Output rows are
 * written whole. Same input, key and configuration give the same bytes. */
MR_MUST_CHECK medreg_err mr_csv_deid(const mr_csv_config *cfg, const mr_psn_source *src, FILE *in, FILE *out,
                                     mr_csv_report *rep, char **errmsg);

#endif
