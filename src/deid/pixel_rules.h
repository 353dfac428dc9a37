/* Where a kind of image carries burned-in text, so that it can be blanked
 * rather than quarantined (PS3.15 E.3.1, the Clean Pixel Data Option).
 *
 * Ultrasound and screen captures print the patient's name, the date and
 * the institution into the pixels, always at the same place for one
 * device and one image size. A data engineer who has looked at a device's
 * images writes that place down once, a region per line of a CSV file:
 *
 *   modality,manufacturer,model,rows,columns,x,y,width,height
 *   US,ACME Medical,Sonolayer 5,480,640,0,0,640,48
 *
 * Manufacturer (0008,0070) and model (0008,1090) are matched exactly or by
 * `*` (an empty cell: the attribute absent or empty); modality (0008,0060),
 * rows and columns exactly, since the place of the text depends on the
 * geometry. A line starting with '#' is a comment.
 * An image that would be quarantined and that matches at least one line
 * has every matching region set to 0 in every frame and is written; one
 * that matches none stays in the quarantine. */
#ifndef MR_PIXEL_RULES_H
#define MR_PIXEL_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "../core/safety.h"
#include "dicom_io.h"

typedef struct mr_pixel_rule {
    char modality[17], manufacturer[65], model[65]; /* "*": any */
    uint16_t rows, columns;
    uint16_t x, y, width, height; /* inside columns × rows */
    unsigned long line;           /* its line in the file, for the report */
} mr_pixel_rule;

typedef struct mr_pixel_rules {
    mr_pixel_rule *v;
    size_t n;
} mr_pixel_rules;

/* Read the file (at most 1 MiB, at most 4096 regions) with its header
 * line. *errmsg (malloc'ed) names the file, line and problem. */
MR_MUST_CHECK medreg_err mr_pixel_rules_load(const char *path, mr_pixel_rules *out, char **errmsg);
void mr_pixel_rules_free(mr_pixel_rules *r);

/* Does rule r apply to an image of these values (DICOM strings, padding
 * ignored; NULL for an absent attribute)? */
int mr_pixel_rule_matches(const mr_pixel_rule *r, const char *modality, const char *manufacturer, const char *model,
                          unsigned rows, unsigned columns);

/* The regions of the rules that match f (its modality, manufacturer, model,
 * rows and columns as they stand: read them before the profile changes
 * them): malloc'ed in *out, NULL and 0 when none match, with the line of
 * the first matching rule. */
MR_MUST_CHECK medreg_err mr_pixel_rules_for(const mr_pixel_rules *rules, mr_dcm_file *f, mr_dcm_region **out,
                                           size_t *n, unsigned long *line);

#endif
