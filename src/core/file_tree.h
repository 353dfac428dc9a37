/* The regular files under a folder, one at a time, in the order of their
 * paths (strcmp): the same tree is always walked the same way, so a report
 * of it comes out the same, yet only the folders on the way down are held
 * (their entries' names), never the whole tree. Symbolic links and other
 * special files are passed over; folders are not followed across links. */
#ifndef MR_FILE_TREE_H
#define MR_FILE_TREE_H

#include "safety.h"

typedef struct mr_file_tree mr_file_tree;

/* Walk root: a folder, or one regular file (then that file is the walk).
 * MEDREG_ERR_NOTFOUND when root does not exist; errno says why on failure. */
MR_MUST_CHECK medreg_err mr_file_tree_open(const char *root, mr_file_tree **out);
/* The next file's path ("root/a/b"), valid until the next call, or NULL
 * when the walk is over. A folder that cannot be read ends the walk with
 * MEDREG_ERR_IO and *path naming it (errno saying why); one deeper than
 * 256 levels with MEDREG_ERR_TOOBIG. */
MR_MUST_CHECK medreg_err mr_file_tree_next(mr_file_tree *t, const char **path);
void mr_file_tree_free(mr_file_tree *t);

#endif
