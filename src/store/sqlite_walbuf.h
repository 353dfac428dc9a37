/* A SQLite VFS that writes a transaction's WAL frames in large writes.
 *
 * SQLite writes each WAL frame as two pwrite calls (a 24-byte header, then
 * the page). A group commit of 30 registrations dirties about 150 pages:
 * 300 system calls, half of the committer's system calls. This VFS
 * wraps the default one and gathers the WAL's consecutive writes in a buffer
 * that goes to the file before anything can observe it: before a sync, a
 * read, a size query, a truncation, a lock change or a close.
 *
 * It relies on one rule of SQLite's WAL with synchronous=FULL (which every
 * medreg connection sets): a commit syncs the WAL before the WAL index
 * points other connections at its frames. With synchronous=NORMAL commits
 * are not synced, so this VFS must not be used then. */
#ifndef MR_SQLITE_WALBUF_H
#define MR_SQLITE_WALBUF_H

#include "../core/safety.h"

/* The VFS's name for sqlite3_open_v2. */
#define MR_WALBUF_VFS "medreg-walbuf"

/* Register the VFS once per process (later calls do nothing); it is not
 * made the default. */
MR_MUST_CHECK medreg_err mr_walbuf_register(void);

#endif
