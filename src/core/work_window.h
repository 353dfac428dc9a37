/* Work done on every core, its results taken in the order it was handed
 * in: a window of at most 4 items per thread in flight, so a run over a
 * million files holds a few items, never all of them. deid dicom and deid
 * verify go through their files this way, and write what each file gave
 * in the order of the tree. */
#ifndef MR_WORK_WINDOW_H
#define MR_WORK_WINDOW_H

#include <stddef.h>

#include "safety.h"

/* On a thread of the window: the work of one item. */
typedef void (*mr_window_run_fn)(void *item, void *ctx);
/* On the caller's thread, item by item in the order they were handed in:
 * take the result and release what the item holds. Anything but MEDREG_OK
 * is kept as the window's error (the first one counts); every item is still
 * taken, so that nothing leaks. */
typedef medreg_err (*mr_window_take_fn)(void *item, void *ctx);

typedef struct mr_work_window mr_work_window;

/* threads (1..64) run items of item_size bytes; with 1, or when threads
 * cannot be started, each item runs on the caller's thread as it is handed
 * in. name: the threads' name (at most 15 characters). */
MR_MUST_CHECK medreg_err mr_work_window_start(unsigned threads, size_t item_size, mr_window_run_fn run,
                                              mr_window_take_fn take, void *ctx, const char *name,
                                              mr_work_window **out);
/* The next item, zeroed, to be filled and handed in with
 * mr_work_window_submit. When the window is full the oldest item is
 * waited for and taken first; its error, or an earlier one, is returned and
 * *item is then NULL. */
MR_MUST_CHECK medreg_err mr_work_window_next(mr_work_window *w, void **item);
/* Hand in the item mr_work_window_next gave. */
void mr_work_window_submit(mr_work_window *w);
/* Wait for and take every item still in flight; the window's first error. */
MR_MUST_CHECK medreg_err mr_work_window_drain(mr_work_window *w);
/* Drain, stop the threads, free w. w may be NULL. */
void mr_work_window_free(mr_work_window *w);

#endif
