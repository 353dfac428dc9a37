#include "sqlite_walbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

/* The unix VFS writes at most 128 KiB - 1 bytes in one call (it masks the
 * length: a longer write fails as "disk full"). 31 frames of 4 KiB pages;
 * a commit of 150 frames is five writes. Allocated by writers only. */
#define WALBUF_BYTES (128 * 1024 - 1)

typedef struct wb_file {
    sqlite3_file base;
    sqlite3_file *real; /* the default VFS's file, right after this struct */
    int is_wal;
    unsigned char *buf;
    sqlite3_int64 buf_off; /* the file offset of buf[0] */
    size_t buf_len;
} wb_file;

#define REAL(f) (((wb_file *)(f))->real)
#define OPS(f) (REAL(f)->pMethods)

/* Write what is gathered. The writes reach the file in the order SQLite
 * made them, which is all a later read or sync depends on. */
static int flush(wb_file *f)
{
    if (f->buf_len == 0)
        return SQLITE_OK;
    size_t n = f->buf_len;
    f->buf_len = 0;
    return f->real->pMethods->xWrite(f->real, f->buf, (int)n, f->buf_off);
}

static int wb_close(sqlite3_file *file)
{
    wb_file *f = (wb_file *)file;
    int rc = flush(f);
    int rc2 = OPS(f)->xClose(f->real);
    sqlite3_free(f->buf);
    f->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *file, void *p, int n, sqlite3_int64 off)
{
    int rc = flush((wb_file *)file);
    return rc != SQLITE_OK ? rc : OPS(file)->xRead(REAL(file), p, n, off);
}

static int wb_write(sqlite3_file *file, const void *p, int n, sqlite3_int64 off)
{
    wb_file *f = (wb_file *)file;
    if (!f->is_wal || n <= 0)
        return OPS(f)->xWrite(f->real, p, n, off);
    if (f->buf_len > 0 && off == f->buf_off + (sqlite3_int64)f->buf_len &&
        f->buf_len + (size_t)n <= WALBUF_BYTES) {
        memcpy(f->buf + f->buf_len, p, (size_t)n);
        f->buf_len += (size_t)n;
        return SQLITE_OK;
    }
    int rc = flush(f);
    if (rc != SQLITE_OK)
        return rc;
    if (f->buf == NULL)
        f->buf = sqlite3_malloc(WALBUF_BYTES);
    if (f->buf == NULL || (size_t)n > WALBUF_BYTES)
        return OPS(f)->xWrite(f->real, p, n, off);
    memcpy(f->buf, p, (size_t)n);
    f->buf_off = off;
    f->buf_len = (size_t)n;
    return SQLITE_OK;
}

static int wb_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    int rc = flush((wb_file *)file);
    return rc != SQLITE_OK ? rc : OPS(file)->xTruncate(REAL(file), size);
}

static int wb_sync(sqlite3_file *file, int flags)
{
    int rc = flush((wb_file *)file);
    return rc != SQLITE_OK ? rc : OPS(file)->xSync(REAL(file), flags);
}

static int wb_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    int rc = flush((wb_file *)file);
    return rc != SQLITE_OK ? rc : OPS(file)->xFileSize(REAL(file), size);
}

static int wb_lock(sqlite3_file *file, int level)
{
    int rc = flush((wb_file *)file);
    return rc != SQLITE_OK ? rc : OPS(file)->xLock(REAL(file), level);
}

static int wb_unlock(sqlite3_file *file, int level)
{
    int rc = flush((wb_file *)file);
    return rc != SQLITE_OK ? rc : OPS(file)->xUnlock(REAL(file), level);
}

static int wb_check_reserved(sqlite3_file *file, int *out)
{
    return OPS(file)->xCheckReservedLock(REAL(file), out);
}

static int wb_file_control(sqlite3_file *file, int op, void *arg)
{
    int rc = flush((wb_file *)file);
    return rc != SQLITE_OK ? rc : OPS(file)->xFileControl(REAL(file), op, arg);
}

static int wb_sector_size(sqlite3_file *file) { return OPS(file)->xSectorSize(REAL(file)); }

static int wb_device_characteristics(sqlite3_file *file)
{
    return OPS(file)->xDeviceCharacteristics(REAL(file));
}

static int wb_shm_map(sqlite3_file *file, int pg, int pgsz, int extend, void volatile **pp)
{
    if (OPS(file)->iVersion < 2)
        return SQLITE_IOERR_SHMMAP;
    return OPS(file)->xShmMap(REAL(file), pg, pgsz, extend, pp);
}

static int wb_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
    return OPS(file)->iVersion < 2 ? SQLITE_IOERR_SHMLOCK : OPS(file)->xShmLock(REAL(file), offset, n, flags);
}

static void wb_shm_barrier(sqlite3_file *file)
{
    if (OPS(file)->iVersion >= 2)
        OPS(file)->xShmBarrier(REAL(file));
}

static int wb_shm_unmap(sqlite3_file *file, int del)
{
    return OPS(file)->iVersion < 2 ? SQLITE_OK : OPS(file)->xShmUnmap(REAL(file), del);
}

static int wb_fetch(sqlite3_file *file, sqlite3_int64 off, int n, void **pp)
{
    *pp = NULL;
    int rc = flush((wb_file *)file);
    if (rc != SQLITE_OK || OPS(file)->iVersion < 3)
        return rc;
    return OPS(file)->xFetch(REAL(file), off, n, pp);
}

static int wb_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
    return OPS(file)->iVersion < 3 ? SQLITE_OK : OPS(file)->xUnfetch(REAL(file), off, p);
}

static const sqlite3_io_methods WB_METHODS = {
    3,           wb_close,        wb_read,       wb_write,   wb_truncate,       wb_sync,
    wb_file_size, wb_lock,        wb_unlock,     wb_check_reserved, wb_file_control, wb_sector_size,
    wb_device_characteristics, wb_shm_map, wb_shm_lock, wb_shm_barrier, wb_shm_unmap, wb_fetch,
    wb_unfetch};

#define ROOT(v) ((sqlite3_vfs *)(v)->pAppData)

static int wb_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
    wb_file *f = (wb_file *)file;
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)(f + 1);
    memset(f->real, 0, (size_t)ROOT(vfs)->szOsFile);
    f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
    int rc = ROOT(vfs)->xOpen(ROOT(vfs), name, f->real, flags, out_flags);
    /* SQLite closes a file whose methods are set, even after an error */
    f->base.pMethods = f->real->pMethods ? &WB_METHODS : NULL;
    return rc;
}

static int wb_delete(sqlite3_vfs *v, const char *name, int sync) { return ROOT(v)->xDelete(ROOT(v), name, sync); }
static int wb_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    return ROOT(v)->xAccess(ROOT(v), name, flags, out);
}
static int wb_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    return ROOT(v)->xFullPathname(ROOT(v), name, n, out);
}
static void *wb_dl_open(sqlite3_vfs *v, const char *name) { return ROOT(v)->xDlOpen(ROOT(v), name); }
static void wb_dl_error(sqlite3_vfs *v, int n, char *msg) { ROOT(v)->xDlError(ROOT(v), n, msg); }
static void (*wb_dl_sym(sqlite3_vfs *v, void *h, const char *sym))(void) { return ROOT(v)->xDlSym(ROOT(v), h, sym); }
static void wb_dl_close(sqlite3_vfs *v, void *h) { ROOT(v)->xDlClose(ROOT(v), h); }
static int wb_randomness(sqlite3_vfs *v, int n, char *out) { return ROOT(v)->xRandomness(ROOT(v), n, out); }
static int wb_sleep(sqlite3_vfs *v, int us) { return ROOT(v)->xSleep(ROOT(v), us); }
static int wb_current_time(sqlite3_vfs *v, double *t) { return ROOT(v)->xCurrentTime(ROOT(v), t); }
static int wb_last_error(sqlite3_vfs *v, int n, char *msg) { return ROOT(v)->xGetLastError(ROOT(v), n, msg); }
static int wb_current_time64(sqlite3_vfs *v, sqlite3_int64 *t)
{
    return ROOT(v)->xCurrentTimeInt64(ROOT(v), t);
}

/* SQLite keeps a pointer to a registered VFS for the life of the process:
 * the one VFS is filled in once and never changed afterwards. */
static sqlite3_vfs walbuf_vfs;
static pthread_once_t walbuf_once = PTHREAD_ONCE_INIT;
static int walbuf_rc = SQLITE_ERROR;

static void register_once(void)
{
    sqlite3_vfs *root = sqlite3_vfs_find(NULL);
    if (root == NULL || root->iVersion < 2)
        return;
    walbuf_vfs = (sqlite3_vfs){2,
                               (int)sizeof(wb_file) + root->szOsFile,
                               root->mxPathname,
                               NULL,
                               MR_WALBUF_VFS,
                               root,
                               wb_open,
                               wb_delete,
                               wb_access,
                               wb_full_pathname,
                               wb_dl_open,
                               wb_dl_error,
                               wb_dl_sym,
                               wb_dl_close,
                               wb_randomness,
                               wb_sleep,
                               wb_current_time,
                               wb_last_error,
                               wb_current_time64,
                               NULL,
                               NULL,
                               NULL};
    walbuf_rc = sqlite3_vfs_register(&walbuf_vfs, 0);
}

medreg_err mr_walbuf_register(void)
{
    if (pthread_once(&walbuf_once, register_once) != 0)
        return MEDREG_ERR_DB;
    return walbuf_rc == SQLITE_OK ? MEDREG_OK : MEDREG_ERR_DB;
}
