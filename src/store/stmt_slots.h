/* Where a connection keeps a prepared statement: a small open-addressing
 * table keyed by the statement's text pointer, shared by both engines.
 * With one slot per hash, two hot statements whose literals collided were
 * prepared again on every call (a seventh of the SQLite group committer's
 * time under registrations; on PostgreSQL two round trips each time).
 *
 * The key is the pointer, so a statement's text must not change at one
 * address while a connection lives: string literals, or text built once. */
#ifndef MR_STMT_SLOTS_H
#define MR_STMT_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#define MR_STMT_PROBE 8 /* a statement lives in one of 8 slots from its hash */

/* keys[i] is slot i's statement (NULL: free); n_slots >= MR_STMT_PROBE.
 * Returns sql's slot and sets *hit, or the slot to put it in: a free one
 * near its hash, else the one *evict picks (and advances). */
static inline size_t mr_stmt_slot(const char *const *keys, size_t n_slots, const char *sql, unsigned *evict,
                                  int *hit)
{
    size_t home = (size_t)((((uint64_t)(uintptr_t)sql >> 4) * 0x9E3779B97F4A7C15ull) >> 32) % n_slots;
    size_t free_slot = n_slots;
    *hit = 0;
    for (size_t k = 0; k < MR_STMT_PROBE; k++) {
        size_t i = (home + k) % n_slots;
        if (keys[i] == sql) {
            *hit = 1;
            return i;
        }
        if (keys[i] == NULL && free_slot == n_slots)
            free_slot = i;
    }
    return free_slot < n_slots ? free_slot : (home + (*evict)++ % MR_STMT_PROBE) % n_slots;
}

#endif
