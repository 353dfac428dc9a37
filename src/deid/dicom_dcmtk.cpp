// The only C++ in medreg: DCMTK behind the C interface of dicom_io.h.
// DCMTK parses and writes DICOM; this file walks what it parsed and applies
// the visitor's decisions. Nothing here decides what is identifying.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcspchrs.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcostrmb.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmdata/dcwcache.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include <errno.h>
#include <fcntl.h>
#include <mutex>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/fd_io.h"
#include "dicom_io.h"

// A file loaded to be written again, up to this size, is read with one read()
// and parsed from memory, and every output is written from a buffer of
// WRITE_CHUNK bytes: through its own file streams DCMTK reads and writes 4
// and 60 KiB at a time, and reads the values it left in the file (over 4
// KiB: the pixels) again when it saves; about 40 system calls for a CT
// image of 512 KiB where these take 2, a tenth of the CPU time of a run (a
// system call costs a microsecond in a virtual machine). It also reads each
// input once, so an output is never made of two versions of an input that
// changes meanwhile. A larger input is left to DCMTK's file stream.
#define WHOLE_FILE_MAX (4u << 20)
#define WRITE_CHUNK (1u << 20)

struct mr_dcm_file {
    DcmFileFormat ff;
    char *bytes = nullptr; // the input, when read whole: DCMTK reads its large values from here
    size_t n_bytes = 0;
    ~mr_dcm_file()
    {
        ff.clear(); // DCMTK's references into bytes first
        if (bytes != nullptr)
            sodium_memzero(bytes, n_bytes); // identifiers
        free(bytes);
    }
};

// A file's bytes in memory as DCMTK's input stream, with what a file stream
// has and DCMTK's buffer stream lacks: a factory, so that DCMTK leaves a
// value over 4 KiB where it is until it is asked for, as it does in a file,
// after skipping it. Skipping checks the value's length against the bytes
// left; DCMTK's buffer stream instead loads every value at once, allocating
// whatever length the file claims first (a file of 1 KiB that says 3 GiB
// follow was given 3 GiB; found by fuzz_dicom).
class memory_stream : public DcmInputStream
{
  public:
    memory_stream(const char *bytes, size_t n, offile_off_t at) : DcmInputStream(&producer_), bytes_(bytes), n_(n)
    {
        producer_.setBuffer(bytes, (offile_off_t)n);
        producer_.setEos();
        if (at > 0)
            skip(at);
    }
    DcmInputStreamFactory *newFactory() const override;

  private:
    DcmBufferProducer producer_;
    const char *bytes_;
    size_t n_;
};

class memory_factory : public DcmInputStreamFactory
{
  public:
    memory_factory(const char *bytes, size_t n, offile_off_t at) : bytes_(bytes), n_(n), at_(at) {}
    DcmInputStream *create() const override { return new memory_stream(bytes_, n_, at_); }
    DcmInputStreamFactory *clone() const override { return new memory_factory(*this); }
    DcmInputStreamFactoryType ident() const override { return DFT_DcmInputFileStreamFactory; }

  private:
    const char *bytes_;
    size_t n_;
    offile_off_t at_;
};

DcmInputStreamFactory *memory_stream::newFactory() const
{
    // none once a deflate filter reads from the bytes (a deflated transfer
    // syntax): positions in it are not positions in the bytes
    return currentProducer() == &producer_ ? new memory_factory(bytes_, n_, tell()) : nullptr;
}

static char *dup_cstr(const char *s)
{
    size_t n = strlen(s);
    char *p = static_cast<char *>(malloc(n + 1));
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

static void start_dcmtk()
{
    // DCMTK logs parse warnings to stderr; medreg reports errors itself.
    // The decoders serve mr_dcm_blank; nothing is decoded otherwise.
    static std::once_flag once;
    std::call_once(once, [] {
        OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
        DcmRLEDecoderRegistration::registerCodecs();
        DJDecoderRegistration::registerCodecs();
        DJLSDecoderRegistration::registerCodecs();
    });
}

// Move the element at position i of from into to; 0 when to holds its tag
// already (the element stays where it was).
static int move_element(DcmItem *from, unsigned long i, DcmItem *to)
{
    DcmElement *e = from->remove(i);
    if (e == nullptr)
        return 0;
    if (to->insert(e, OFFalse).good())
        return 1;
    if (from->insert(e, OFFalse).bad()) // back where it was, free as it was a moment ago
        delete e;
    return 0;
}

// A meta header whose group length is wrong (some writers get it wrong;
// a crafted file may on purpose) leaves DCMTK holding dataset elements in
// the meta header, or meta elements in the dataset. Each is moved where it
// belongs before anything looks at the file, so that the profile and the
// check see it for what it is: a Patient's Address kept "in the meta
// header" went through as a meta element, and a Source AE Title "in the
// dataset" as an unknown one (found by fuzz_dicom_io). The same tag in
// both leaves no way to tell which is meant: the file is refused.
static medreg_err put_in_place(mr_dcm_file *f, char **why)
{
    DcmMetaInfo *meta = f->ff.getMetaInfo();
    DcmDataset *ds = f->ff.getDataset();
    if (meta == nullptr || ds == nullptr)
        return MEDREG_OK;
    DcmItem *sides[2] = {meta, ds};
    for (int side = 0; side < 2; side++) {
        DcmItem *from = sides[side], *to = sides[side ^ 1];
        for (unsigned long i = 0; i < from->card();) {
            DcmElement *e = from->getElement(i);
            Uint16 g = e ? e->getGTag() : 0x0002, el = e ? e->getETag() : 0;
            if (g == 0x0002 && e != nullptr && (e->ident() == EVR_SQ || e->getLengthField() == DCM_UndefinedLength)) {
                // no meta element is a sequence: in the meta header, DCMTK
                // wrote one it could not read again (found by fuzz_dicom_io)
                char msg[160];
                snprintf(msg, sizeof msg, "(%04x,%04x) is a sequence in group 0002, where none belongs", g, el);
                *why = dup_cstr(msg);
                return MEDREG_ERR_CONFLICT;
            } else if ((g == 0x0002) == (from == meta)) {
                i++;
            } else if (g == 0x0002 && el == 0x0000) {
                delete from->remove(i); // a second group length: written anew anyway
            } else if (!move_element(from, i, to)) {
                char msg[160];
                snprintf(msg, sizeof msg,
                         "(%04x,%04x) is both in its file meta header and in its dataset (a wrong meta group length?)",
                         g, el);
                *why = dup_cstr(msg);
                return MEDREG_ERR_CONFLICT;
            }
        }
    }
    return MEDREG_OK;
}

extern "C" medreg_err mr_dcm_load(const char *path, mr_dcm_load_mode mode, mr_dcm_file **out, char **why)
{
    start_dcmtk();
    *out = nullptr;
    *why = nullptr;
    mr_dcm_file *f = new (std::nothrow) mr_dcm_file;
    if (f == nullptr)
        return MEDREG_ERR_NOMEM;
    int fd = mode == MR_DCM_WHOLE ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    struct stat st;
    medreg_err rc = MEDREG_OK;
    OFCondition c = EC_Normal;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= (off_t)WHOLE_FILE_MAX) {
        size_t size = (size_t)st.st_size, got = 0;
        char *buf = static_cast<char *>(malloc(size + 1));
        // to its end, one byte more than its size: a file that grows meanwhile is seen
        medreg_err got_rc = buf ? mr_fd_read_all(fd, reinterpret_cast<uint8_t *>(buf), size, &got) : MEDREG_ERR_NOMEM;
        f->bytes = buf; // wiped (all of it, however much a failed read filled) and freed with f
        f->n_bytes = buf ? size + 1 : 0;
        if (buf == nullptr) {
            rc = MEDREG_ERR_NOMEM;
        } else if (got_rc != MEDREG_OK || got != size) {
            *why = dup_cstr(got_rc == MEDREG_ERR_IO ? strerror(errno) : "it changed while it was read");
            rc = MEDREG_ERR_INVALID;
        } else {
            memory_stream in(buf, size, 0);
            // as loadFile does (the file format's read mode is autodetect:
            // Part 10, or a bare dataset)
            f->ff.transferInit();
            c = f->ff.read(in, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
            f->ff.transferEnd();
        }
    } else {
        c = f->ff.loadFile(OFFilename(path), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_autoDetect);
    }
    if (fd >= 0)
        close(fd);
    if (rc == MEDREG_OK && c.bad()) {
        *why = dup_cstr(c.text());
        rc = MEDREG_ERR_INVALID;
    }
    if (rc == MEDREG_OK)
        rc = put_in_place(f, why);
    if (rc != MEDREG_OK) {
        delete f;
        return rc;
    }
    *out = f;
    return MEDREG_OK;
}

extern "C" const char *mr_dcm_dictionary_path(void)
{
    const char *env = getenv(DCM_DICT_ENVIRONMENT_VARIABLE);
    return env != NULL && *env ? env : DCM_DICT_DEFAULT_PATH;
}

extern "C" void mr_dcm_free(mr_dcm_file *f)
{
    delete f;
}

extern "C" medreg_err mr_dcm_to_utf8(mr_dcm_file *f, const char *assumed, char **why)
{
    *why = nullptr;
    OFString cs;
    DcmDataset *ds = f->ff.getDataset();
    if (ds->findAndGetOFStringArray(DCM_SpecificCharacterSet, cs).bad())
        cs.clear();
    size_t a = cs.find_first_not_of(' '), b = cs.find_last_not_of(' ');
    OFCondition c = EC_Normal;
    if (a == OFString_npos && assumed != nullptr) {
        // nothing declared, and the configuration says what such files are
        cs = assumed;
        c = f->ff.convertCharacterSet(cs, "ISO_IR 192");
        if (c.good())
            c = ds->putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
    } else if (a == OFString_npos || cs.compare(a, b - a + 1, "ISO_IR 192") == 0 ||
               cs.compare(a, b - a + 1, "ISO_IR 6") == 0) {
        // the default repertoire (ASCII), or UTF-8 already. A byte above
        // 0x7F in ASCII is the writer's mistake; it stays as it is and is
        // compared as Latin-1 (free_text.c)
        return MEDREG_OK;
    } else {
        c = f->ff.convertToUTF8();
    }
    if (c.bad()) {
        char msg[200];
        snprintf(msg, sizeof msg, "its text cannot be read in its character set '%.40s': %s", cs.c_str(), c.text());
        *why = dup_cstr(msg);
        return MEDREG_ERR_INVALID;
    }
    return MEDREG_OK;
}

extern "C" int mr_dcm_charset_known(const char *term)
{
    start_dcmtk();
    DcmSpecificCharacterSet converter;
    return converter.selectCharacterSet(term, "ISO_IR 192").good() ? 1 : 0;
}

// The private creator of (gggg,xxyy): the value of (gggg,00xx) in the same item.
static bool private_creator(DcmItem *item, const DcmTagKey &key, OFString &creator)
{
    if (!key.isPrivate() || key.getElement() < 0x1000)
        return false;
    DcmTagKey ck(key.getGroup(), static_cast<Uint16>(key.getElement() >> 8));
    return item->findAndGetOFStringArray(ck, creator).good();
}

struct walk_state {
    mr_dcm_visit fn;
    void *ctx;
    char **why;
    bool in_meta;
};

// An element that says UN (unknown), or a VR code that is none, while the
// dictionary gives its tag a text VR, is put back as that VR: a kept
// Manufacturer written as UN went through as bytes, its text never
// cleaned. Only text: DCMTK's own conversion (dcmEnableUnknownVRConversion)
// also reads a UN sequence's bytes as items, and wrote what it then could
// not read again (found by fuzz_dicom_io). The element at i afterwards.
static DcmElement *text_for_unknown(DcmItem *item, unsigned long i)
{
    DcmElement *e = item->getElement(i);
    DcmTagKey key = e->getTag();
    if (e->ident() != EVR_UN || (key.getGroup() & 1) || e->getLength() == 0)
        return e;
    DcmTag known(key); // the dictionary's VR
    DcmVR vr(known.getEVR());
    Uint8 *raw = nullptr;
    if (!vr.isaString() || known.getEVR() == EVR_UN || known.getEVR() == EVR_SQ || e->getUint8Array(raw).bad() ||
        raw == nullptr)
        return e;
    OFString text(reinterpret_cast<const char *>(raw), e->getLength());
    if (item->putAndInsertString(known, text.c_str(), static_cast<Uint32>(text.size()), OFTrue).good())
        e = item->getElement(i);
    memset(&text[0], 0, text.size());
    return e;
}

static medreg_err walk_item(walk_state *w, DcmItem *item, int depth)
{
    for (unsigned long i = 0; i < item->card();) {
        DcmElement *e = text_for_unknown(item, i);
        DcmTag tag = e->getTag();
        DcmVR vr(e->ident());
        OFString value, creator;
        bool is_string = vr.isaString() && e->ident() != EVR_SQ;
        if (is_string && e->getOFStringArray(value, OFFalse).bad())
            value.clear();
        // A NUL inside a text value ends it for C, and so for the visitor:
        // "ACME\0Müller" was seen as "ACME", kept, and written whole. Such
        // NULs (not those that only pad the end) become spaces, in the
        // element too, so that what is judged is what is written.
        size_t seen = strlen(value.c_str()), last = value.find_last_not_of('\0');
        if (seen < value.size() && last != OFString_npos && last > seen) {
            for (size_t k = seen; k < last; k++)
                if (value[k] == '\0')
                    value[k] = ' ';
            if (e->putOFStringArray(value).bad()) {
                memset(&value[0], 0, value.size());
                char msg[160];
                snprintf(msg, sizeof msg, "(%04X,%04X): a NUL inside its value", tag.getGroup(), tag.getElement());
                *w->why = dup_cstr(msg);
                return MEDREG_ERR_INVALID;
            }
        }
        bool has_creator = private_creator(item, tag, creator);
        mr_dcm_elem el;
        el.group = tag.getGroup();
        el.element = tag.getElement();
        snprintf(el.vr, sizeof el.vr, "%s", vr.getValidVRName());
        el.in_meta = w->in_meta;
        el.depth = depth;
        el.creator = has_creator ? creator.c_str() : nullptr;
        el.value = is_string ? value.c_str() : nullptr;
        Uint8 *raw = nullptr;
        el.bytes = nullptr;
        el.n_bytes = 0;
        if (e->ident() == EVR_UN && e->getLength() > 0 && e->getUint8Array(raw).good() && raw != nullptr) {
            el.bytes = raw;
            el.n_bytes = e->getLength();
        }
        char *rep = nullptr;
        mr_dcm_action a = w->fn(w->ctx, &el, &rep);
        // the value may hold identifiers: wipe the copy
        if (!value.empty())
            memset(&value[0], 0, value.size());
        switch (a) {
        case MR_DCM_DELETE:
            delete item->remove(i);
            free(rep);
            continue; // the next element moved into slot i
        case MR_DCM_EMPTY:
            free(rep);
            if (e->ident() == EVR_SQ)
                static_cast<DcmSequenceOfItems *>(e)->clear();
            else if (e->clear().bad())
                return MEDREG_ERR_INVALID;
            break;
        case MR_DCM_REPLACE: {
            OFCondition c = e->putString(rep ? rep : "");
            if (rep) {
                memset(rep, 0, strlen(rep));
                free(rep);
            }
            if (c.bad()) {
                char msg[160];
                snprintf(msg, sizeof msg, "(%04X,%04X): %s", el.group, el.element, c.text());
                *w->why = dup_cstr(msg);
                return MEDREG_ERR_INVALID;
            }
            break;
        }
        case MR_DCM_KEEP:
            free(rep);
            if (e->ident() == EVR_SQ) {
                DcmSequenceOfItems *sq = static_cast<DcmSequenceOfItems *>(e);
                for (unsigned long k = 0; k < sq->card(); k++) {
                    medreg_err rc = walk_item(w, sq->getItem(k), depth + 1);
                    if (rc != MEDREG_OK)
                        return rc;
                }
            }
            break;
        }
        i++;
    }
    return MEDREG_OK;
}

extern "C" medreg_err mr_dcm_walk(mr_dcm_file *f, mr_dcm_visit fn, void *ctx, char **why)
{
    *why = nullptr;
    walk_state w = {fn, ctx, why, true};
    medreg_err rc = walk_item(&w, f->ff.getMetaInfo(), 0);
    if (rc != MEDREG_OK)
        return rc;
    w.in_meta = false;
    return walk_item(&w, f->ff.getDataset(), 0);
}

static DcmItem *item_for(mr_dcm_file *f, uint16_t group)
{
    return group == 0x0002 ? static_cast<DcmItem *>(f->ff.getMetaInfo()) : f->ff.getDataset();
}

extern "C" medreg_err mr_dcm_get(mr_dcm_file *f, uint16_t group, uint16_t element, char **out)
{
    OFString v;
    *out = nullptr;
    if (item_for(f, group)->findAndGetOFStringArray(DcmTagKey(group, element), v).bad())
        return MEDREG_ERR_NOTFOUND;
    *out = dup_cstr(v.c_str());
    if (!v.empty())
        memset(&v[0], 0, v.size());
    return *out ? MEDREG_OK : MEDREG_ERR_NOMEM;
}

extern "C" int mr_dcm_has(mr_dcm_file *f, uint16_t group, uint16_t element)
{
    return item_for(f, group)->tagExists(DcmTagKey(group, element)) ? 1 : 0;
}

extern "C" medreg_err mr_dcm_put(mr_dcm_file *f, uint16_t group, uint16_t element, const char *value)
{
    return item_for(f, group)->putAndInsertString(DcmTagKey(group, element), value).good() ? MEDREG_OK
                                                                                          : MEDREG_ERR_INVALID;
}

extern "C" medreg_err mr_dcm_put_codes(mr_dcm_file *f, uint16_t group, uint16_t element,
                                       const char *const (*codes)[3], size_t n)
{
    DcmDataset *ds = f->ff.getDataset();
    DcmTagKey key(group, element);
    ds->findAndDeleteElement(key);
    for (size_t i = 0; i < n; i++) {
        DcmItem *item = nullptr;
        if (ds->findOrCreateSequenceItem(key, item, -2).bad() || item == nullptr ||
            item->putAndInsertString(DCM_CodeValue, codes[i][0]).bad() ||
            item->putAndInsertString(DCM_CodingSchemeDesignator, codes[i][1]).bad() ||
            item->putAndInsertString(DCM_CodeMeaning, codes[i][2]).bad())
            return MEDREG_ERR_INVALID;
    }
    return MEDREG_OK;
}

// A cine loop of 1,000 frames of 640 x 480 RGB is 0.9 GiB decoded; more
// than this is refused rather than allocated (and stays quarantined).
static const double MAX_DECODED_BYTES = 2.0 * 1024 * 1024 * 1024;

// Every sample of the regions, in every frame: set to 0 (blank), or
// counted where it is not 0 (*nonzero).
static medreg_err regions(mr_dcm_file *f, const mr_dcm_region *r, size_t n, bool blank, unsigned long *nonzero,
                          char **why)
{
    *why = nullptr;
    DcmDataset *ds = f->ff.getDataset();
    Uint16 rows = 0, cols = 0, spp = 1, bits = 0, planar = 0;
    Sint32 frames = 1;
    OFString photometric;
    DcmElement *px = nullptr;
    const char *no = nullptr;
    bool decoded = false;
    // compressed pixels are decoded, blanked and written uncompressed; the
    // compressed form must then go, or it would be written instead
    if (DcmXfer(ds->getCurrentXfer()).isEncapsulated()) {
        // what decoding would allocate, from the file's own attributes: a
        // file may claim any number of frames
        Uint16 h = 0, w = 0, s = 1, b = 0;
        Sint32 k = 1;
        ds->findAndGetUint16(DCM_Rows, h);
        ds->findAndGetUint16(DCM_Columns, w);
        ds->findAndGetUint16(DCM_SamplesPerPixel, s);
        ds->findAndGetUint16(DCM_BitsAllocated, b);
        if (ds->findAndGetSint32(DCM_NumberOfFrames, k).bad())
            k = 1;
        double size = static_cast<double>(h) * w * s * ((b + 7) / 8) * (k > 0 ? k : 1);
        if (size > MAX_DECODED_BYTES)
            no = "the decoded pixels would take more than 2 GiB";
        else if (ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr).bad() ||
                 !ds->canWriteXfer(EXS_LittleEndianExplicit))
            no = "the pixels are compressed in a way DCMTK cannot decode";
        decoded = true;
    }
    if (no == nullptr &&
        (ds->findAndGetUint16(DCM_Rows, rows).bad() || ds->findAndGetUint16(DCM_Columns, cols).bad() ||
         ds->findAndGetUint16(DCM_BitsAllocated, bits).bad() || ds->findAndGetElement(DCM_PixelData, px).bad() ||
         ds->findAndGetOFString(DCM_PhotometricInterpretation, photometric).bad()))
        no = "no pixel data, or its size is not given";
    if (no == nullptr && bits != 8 && bits != 16)
        no = "only 8 or 16 bits allocated per sample are blanked";
    if (no == nullptr) {
        ds->findAndGetUint16(DCM_SamplesPerPixel, spp);
        ds->findAndGetUint16(DCM_PlanarConfiguration, planar);
        if (ds->findAndGetSint32(DCM_NumberOfFrames, frames).bad())
            frames = 1;
        if (photometric != "MONOCHROME1" && photometric != "MONOCHROME2" && photometric != "PALETTE COLOR" &&
            photometric != "RGB" && photometric != "YBR_FULL")
            no = "this photometric interpretation is not blanked (one value per sample and pixel only)";
        else if (rows == 0 || cols == 0 || spp < 1 || spp > 3 || frames < 1)
            no = "rows, columns, samples per pixel or the number of frames out of range";
        else if (decoded && dynamic_cast<DcmPixelData *>(px) == nullptr)
            no = "DCMTK decoded pixel data it does not hold as such";
    }
    size_t per_frame = 0, bytes = bits / 8;
    if (no == nullptr) {
        per_frame = static_cast<size_t>(rows) * cols * spp;
        if (static_cast<size_t>(px->getLength()) / bytes / per_frame < static_cast<size_t>(frames))
            no = "the pixel data is shorter than rows, columns, samples and frames say";
    }
    Uint8 *p8 = nullptr;
    Uint16 *p16 = nullptr;
    if (no == nullptr && (bytes == 1 ? px->getUint8Array(p8).bad() || p8 == nullptr
                                     : px->getUint16Array(p16).bad() || p16 == nullptr))
        no = "DCMTK cannot give the pixel values";
    if (no != nullptr) {
        *why = dup_cstr(no);
        return MEDREG_ERR_INVALID;
    }
    if (decoded && blank)
        static_cast<DcmPixelData *>(px)->removeAllButCurrentRepresentations();
    size_t plane = static_cast<size_t>(rows) * cols;
    for (size_t fr = 0; fr < static_cast<size_t>(frames); fr++)
        for (size_t k = 0; k < n; k++)
            for (size_t y = r[k].y; y < static_cast<size_t>(r[k].y) + r[k].height && y < rows; y++)
                for (size_t x = r[k].x; x < static_cast<size_t>(r[k].x) + r[k].width && x < cols; x++)
                    for (size_t s = 0; s < spp; s++) {
                        size_t at = fr * per_frame + (planar ? s * plane + y * cols + x : (y * cols + x) * spp + s);
                        if (blank && bytes == 1)
                            p8[at] = 0;
                        else if (blank)
                            p16[at] = 0;
                        else
                            *nonzero += (bytes == 1 ? p8[at] : p16[at]) != 0;
                    }
    return MEDREG_OK;
}

extern "C" medreg_err mr_dcm_blank(mr_dcm_file *f, const mr_dcm_region *r, size_t n, char **why)
{
    return regions(f, r, n, true, nullptr, why);
}

extern "C" medreg_err mr_dcm_regions_nonzero(mr_dcm_file *f, const mr_dcm_region *r, size_t n, unsigned long *count,
                                            char **why)
{
    *count = 0;
    return regions(f, r, n, false, count, why);
}

// The top-level Pixel Data, when it is not encapsulated.
static DcmElement *native_pixels(mr_dcm_file *f)
{
    DcmDataset *ds = f->ff.getDataset();
    DcmElement *e = nullptr;
    if (DcmXfer(ds->getCurrentXfer()).isEncapsulated() || ds->findAndGetElement(DCM_PixelData, e, OFFalse).bad())
        return nullptr;
    return e;
}

extern "C" medreg_err mr_dcm_native_pixel_lengths(mr_dcm_file *f, uint64_t *have, uint64_t *need)
{
    DcmDataset *ds = f->ff.getDataset();
    DcmElement *e = native_pixels(f);
    Uint16 rows = 0, cols = 0, spp = 1, bits = 0;
    Sint32 frames = 1;
    if (e == nullptr || ds->findAndGetUint16(DCM_Rows, rows).bad() || ds->findAndGetUint16(DCM_Columns, cols).bad() ||
        ds->findAndGetUint16(DCM_BitsAllocated, bits).bad() || (bits != 1 && (bits == 0 || bits % 8 != 0)))
        return MEDREG_ERR_NOTFOUND;
    ds->findAndGetUint16(DCM_SamplesPerPixel, spp);
    if (ds->findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1)
        frames = 1;
    uint64_t samples = static_cast<uint64_t>(rows) * cols * (spp ? spp : 1) * static_cast<uint64_t>(frames);
    uint64_t bytes = bits == 1 ? (samples + 7) / 8 : samples * (bits / 8);
    *need = bytes + (bytes & 1);
    *have = e->getLength();
    return MEDREG_OK;
}

extern "C" medreg_err mr_dcm_cut_pixels(mr_dcm_file *f, uint64_t n)
{
    DcmElement *e = native_pixels(f);
    if (e == nullptr || (n & 1) || n > e->getLength())
        return MEDREG_ERR_INVALID;
    bool words = e->getVR() == EVR_OW; // in memory in this machine's byte order: taken and put back as such
    Uint8 *p8 = nullptr;
    Uint16 *p16 = nullptr;
    if ((words ? e->getUint16Array(p16).bad() : e->getUint8Array(p8).bad()) || (n > 0 && p8 == nullptr && p16 == nullptr))
        return MEDREG_ERR_INVALID;
    // DCMTK frees the old value as it takes the new one: copied out first
    void *kept = malloc(n ? n : 1);
    if (kept == nullptr)
        return MEDREG_ERR_NOMEM;
    memcpy(kept, words ? static_cast<void *>(p16) : static_cast<void *>(p8), n);
    OFCondition c = words ? e->putUint16Array(static_cast<Uint16 *>(kept), n / 2)
                          : e->putUint8Array(static_cast<Uint8 *>(kept), n);
    free(kept);
    return c.good() ? MEDREG_OK : MEDREG_ERR_INVALID;
}

// The top-level Pixel Data and its fragments, when it is encapsulated in
// the dataset's current transfer syntax (not after mr_dcm_blank decoded it).
static DcmPixelSequence *compressed_fragments(mr_dcm_file *f, DcmPixelData **pd)
{
    DcmDataset *ds = f->ff.getDataset();
    E_TransferSyntax xs = ds->getCurrentXfer();
    DcmElement *e = nullptr;
    DcmPixelSequence *seq = nullptr;
    if (!DcmXfer(xs).isEncapsulated() || ds->findAndGetElement(DCM_PixelData, e, OFFalse).bad() ||
        (*pd = dynamic_cast<DcmPixelData *>(e)) == nullptr ||
        (*pd)->getEncapsulatedRepresentation(xs, nullptr, seq).bad())
        return nullptr;
    return seq;
}

// The little-endian number of width bytes at p.
static Uint64 little_endian(const Uint8 *p, size_t width)
{
    Uint64 v = 0;
    for (size_t b = width; b-- > 0;)
        v = v << 8 | p[b];
    return v;
}

// Do the n offsets of width bytes each (little endian) at p, if any, start
// at 0 and ascend, each where a fragment starts (starts: ascending)?
static bool offsets_only(const Uint8 *p, size_t n, size_t width, const OFVector<Uint64> &starts)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        Uint64 v = little_endian(p + i * width, width);
        if (i == 0 && v != 0)
            return false;
        while (k < starts.size() && starts[k] < v)
            k++;
        if (k == starts.size() || starts[k] != v)
            return false;
        k++; // the next offset must be further on
    }
    return true;
}

// Do the offset tables hold offsets alone? The basic one (item 0) empty or
// offsets of fragments; an extended one (7FE0,0001) likewise, with as many
// lengths (7FE0,0002), none beyond the fragments' bytes. Anything else
// there is bytes no reader shows.
static bool tables_hold_offsets(mr_dcm_file *f, DcmPixelSequence *seq, size_t total)
{
    OFVector<Uint64> starts;
    Uint64 at = 0;
    for (unsigned long i = 1; i < seq->card(); i++) {
        DcmPixelItem *item = nullptr;
        if (seq->getItem(item, i).bad())
            return false;
        starts.push_back(at);
        at += 8 + item->getLength();
    }
    DcmPixelItem *table = nullptr;
    Uint8 *p = nullptr;
    if (seq->getItem(table, 0).bad())
        return false;
    Uint32 len = table->getLength();
    if (len > 0 && ((len & 3) != 0 || table->getUint8Array(p).bad() || p == nullptr ||
                    !offsets_only(p, len / 4, 4, starts)))
        return false;
    DcmDataset *ds = f->ff.getDataset();
    DcmElement *eot = nullptr, *lengths = nullptr;
    bool has_eot = ds->findAndGetElement(DCM_ExtendedOffsetTable, eot, OFFalse).good();
    bool has_lengths = ds->findAndGetElement(DcmTagKey(0x7FE0, 0x0002), lengths, OFFalse).good();
    if (!has_eot && !has_lengths)
        return true;
    Uint8 *e = nullptr, *l = nullptr;
    if (!has_eot || !has_lengths || eot->getLength() % 8 != 0 || eot->getLength() != lengths->getLength() ||
        (eot->getLength() > 0 && (eot->getUint8Array(e).bad() || lengths->getUint8Array(l).bad() || e == nullptr ||
                                  l == nullptr)))
        return false;
    if (!offsets_only(e, eot->getLength() / 8, 8, starts))
        return false;
    for (size_t i = 0; i < lengths->getLength() / 8; i++)
        if (little_endian(l + i * 8, 8) > total)
            return false;
    return true;
}

extern "C" medreg_err mr_dcm_compressed_pixels(mr_dcm_file *f, uint8_t **bytes, size_t *n, char xfer[65],
                                               int *tables_ok)
{
    *bytes = nullptr;
    *n = 0;
    *tables_ok = 0;
    DcmPixelData *pd = nullptr;
    DcmPixelSequence *seq = compressed_fragments(f, &pd);
    if (seq == nullptr)
        return MEDREG_ERR_NOTFOUND;
    snprintf(xfer, 65, "%s", DcmXfer(f->ff.getDataset()->getCurrentXfer()).getXferID());
    size_t total = 0;
    for (unsigned long i = 1; i < seq->card(); i++) { // item 0: the offset table
        DcmPixelItem *item = nullptr;
        if (seq->getItem(item, i).good())
            total += item->getLength();
    }
    *tables_ok = tables_hold_offsets(f, seq, total);
    uint8_t *all = static_cast<uint8_t *>(malloc(total ? total : 1));
    if (all == nullptr)
        return MEDREG_ERR_NOMEM;
    size_t used = 0;
    for (unsigned long i = 1; i < seq->card(); i++) {
        DcmPixelItem *item = nullptr;
        Uint8 *p = nullptr;
        if (seq->getItem(item, i).bad() || item->getLength() == 0)
            continue;
        if (item->getUint8Array(p).bad() || p == nullptr || item->getLength() > total - used) {
            sodium_memzero(all, used);
            free(all);
            return MEDREG_ERR_INVALID; // a fragment DCMTK cannot give (a file cut short)
        }
        memcpy(all + used, p, item->getLength());
        used += item->getLength();
        item->compact(); // DCMTK's copy goes where it can read the fragment again (a large file)
    }
    *bytes = all;
    *n = used;
    return MEDREG_OK;
}

extern "C" medreg_err mr_dcm_put_compressed_frames(mr_dcm_file *f, const uint8_t *bytes, size_t n, const size_t *at,
                                                   size_t n_frames)
{
    DcmPixelData *pd = nullptr;
    if (compressed_fragments(f, &pd) == nullptr)
        return MEDREG_ERR_NOTFOUND;
    DcmPixelSequence *seq = new (std::nothrow) DcmPixelSequence(DCM_PixelSequenceTag);
    DcmPixelItem *table = new (std::nothrow) DcmPixelItem(DCM_PixelItemTag);
    if (seq == nullptr || table == nullptr || seq->insert(table).bad()) {
        delete seq;
        delete table;
        return MEDREG_ERR_NOMEM;
    }
    DcmOffsetList sizes;
    for (size_t i = 0; i < n_frames; i++) {
        size_t end = i + 1 < n_frames ? at[i + 1] : n;
        if (end < at[i] || end > n || end - at[i] > 0xFFFFFFF0u ||
            seq->storeCompressedFrame(sizes, const_cast<Uint8 *>(bytes + at[i]), static_cast<Uint32>(end - at[i]), 0)
                .bad()) {
            delete seq;
            return MEDREG_ERR_INVALID;
        }
    }
    if (table->createOffsetTable(sizes).bad()) {
        delete seq;
        return MEDREG_ERR_INVALID;
    }
    DcmDataset *ds = f->ff.getDataset();
    pd->putOriginalRepresentation(ds->getCurrentXfer(), nullptr, seq); // owns seq; the old fragments go
    ds->findAndDeleteElement(DCM_ExtendedOffsetTable);
    ds->findAndDeleteElement(DcmTagKey(0x7FE0, 0x0002)); // its lengths
    return MEDREG_OK;
}

// Do files a and b hold the same bytes? 0 when they differ or either
// cannot be read.
static int same_bytes(const char *a, const char *b)
{
    int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int same = fa >= 0 && fb >= 0;
    static const size_t chunk = 65536;
    char *x = same ? (char *)malloc(2 * chunk) : nullptr;
    same = x != nullptr;
    while (same) {
        ssize_t na = read(fa, x, chunk), nb = na > 0 ? read(fb, x + chunk, (size_t)na) : read(fb, x + chunk, 1);
        if (na < 0 || nb != (na > 0 ? na : 0)) // short reads do not happen on regular files; taken as a difference
            same = 0;
        else if (na == 0)
            break;
        else
            same = memcmp(x, x + chunk, (size_t)na) == 0;
    }
    free(x);
    if (fa >= 0)
        close(fa);
    if (fb >= 0)
        close(fb);
    return same;
}

// f into a new file at path (never over one), as saveFile would write it,
// through a buffer (WHOLE_FILE_MAX above); *why on failure
static medreg_err write_file(mr_dcm_file *f, const char *path, char **why)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) {
        *why = dup_cstr(strerror(errno));
        return MEDREG_ERR_IO;
    }
    char *buf = static_cast<char *>(malloc(WRITE_CHUNK));
    if (buf == nullptr) {
        close(fd);
        unlink(path);
        return MEDREG_ERR_NOMEM;
    }
    const char *failed = nullptr;
    {
        DcmOutputBufferStream out(buf, WRITE_CHUNK);
        DcmWriteCache wcache; // for values DCMTK left in a large input
        OFCondition c;
        // DCMTK writes the preamble it read: 128 bytes a writer may fill as
        // it likes (a TIFF header, a name and a birth date), which no
        // attribute shows. Written as PS3.10 7.1 says when unused: zeros.
        static const offile_off_t PREAMBLE = 128;
        bool first = true;
        f->ff.transferInit();
        // the buffer full, DCMTK asks for it to be emptied and is called again
        do {
            // the dataset's current transfer syntax: the input's, unless its
            // pixels were decoded to be blanked
            c = f->ff.write(out, f->ff.getDataset()->getCurrentXfer(), EET_ExplicitLength, &wcache, EGL_recalcGL,
                            EPD_noChange, 0, 0, 0, EWM_updateMeta);
            void *p = nullptr;
            offile_off_t n = 0;
            if (c.good() || c == EC_StreamNotifyClient) {
                out.flushBuffer(p, n);
                if (first && n >= PREAMBLE + 4 && memcmp(static_cast<char *>(p) + PREAMBLE, "DICM", 4) == 0)
                    memset(p, 0, PREAMBLE);
                first = first && n == 0;
                if (n > 0 && mr_fd_write_all(fd, p, (size_t)n) != MEDREG_OK)
                    failed = strerror(errno);
            } else {
                failed = c.text();
            }
        } while (failed == nullptr && c == EC_StreamNotifyClient);
        f->ff.transferEnd();
        if (failed != nullptr)
            *why = dup_cstr(failed);
    }
    free(buf);
    if (close(fd) != 0 && *why == nullptr)
        *why = dup_cstr(strerror(errno));
    if (failed != nullptr || *why != nullptr) {
        unlink(path);
        return MEDREG_ERR_IO;
    }
    return MEDREG_OK;
}

extern "C" medreg_err mr_dcm_save(mr_dcm_file *f, const char *path, const char *tmp_path, char **why)
{
    *why = nullptr;
    OFString tmp(tmp_path);
    unlink(tmp.c_str());
    medreg_err rc = write_file(f, tmp.c_str(), why);
    if (rc != MEDREG_OK)
        return rc;
    // whole or absent: link() refuses to replace an existing file. The
    // caller makes the run durable at once (syncfs) before it reports.
    if (link(tmp.c_str(), path) != 0) {
        int err = errno;
        // the output is a function of the input, key and configuration: the
        // same bytes there already are this input's output (a run that was
        // interrupted and is run again, an image an export repeats)
        int same = err == EEXIST && same_bytes(tmp.c_str(), path);
        unlink(tmp.c_str());
        if (same)
            return MEDREG_ERR_EXISTS;
        *why = dup_cstr(err == EEXIST ? "another file is there already under its name (another input with the same "
                                        "SOP Instance UID, or an earlier run with another key or configuration)"
                                      : strerror(err));
        return MEDREG_ERR_IO;
    }
    unlink(tmp.c_str());
    return MEDREG_OK;
}
