#!/usr/bin/env python3
"""dicom_mix.py SEED N DIR: N DICOM files of CT-like content in DIR, built
with dump2dcm, whose identifying values are drawn so that they collide with
each other and with what the profile keeps, as a hospital's archive has
them: short names and department names that are codes ("CT", "Hip",
"Head"), Study and Admission IDs that are numbers of the image, a study
description that is the body part, dates a few days apart, the patient's
name, ID, accession number and study date written into descriptions and
comments, a request sequence with its own IDs and dates. The same SEED
gives the same files.

check REPORT: from each input and its output (dcmdump, not medreg),
print every patient ID, accession number, admission ID of four characters
or more, and every part of the patient's name of four or more, that the
output still holds in a value; exit 1 if any."""
import json
import random
import re
import subprocess
import sys

FAMILY = ["Li", "Wu", "Ng", "Eva", "Ott", "Bauer", "Müller", "Smith", "Garcia", "O'Neil", "Dupont", "CT",
          "Hip", "Head", "Kim", "Lee", "Roth"]
GIVEN = ["Al", "Jo", "Eva", "Ann", "Max", "Jürgen", "Maria", "Li", "Tom", "Rita", "Sam", "Hans"]
DEPARTMENTS = ["CT", "MR", "HIP", "Radiology", "Neuro", "ER", "ICU", "CT1", "Nuklearmedizin"]
DESCRIPTIONS = ["CT hip", "HEAD", "CT HEAD W/O", "MR knee left", "Follow-up", "CHEST 1.25mm",
                "Abdomen^Routine", "HIP 2 views", "PELVIS", "Routine 400"]
BODY_PARTS = ["HIP", "HEAD", "CHEST", "ABDOMEN", "PELVIS", "KNEE", "SPINE"]


def make(seed, n, folder):
    rnd = random.Random(seed)

    def num(a, b):
        return str(rnd.randint(a, b))

    def date():
        return "2021%02d%02d" % (rnd.randint(1, 12), rnd.randint(1, 28))

    for i in range(n):
        d = date()
        pn = (rnd.choice(FAMILY), rnd.choice(GIVEN))
        pid, acc = num(1, 9999999), num(1, 99999)
        descriptions = DESCRIPTIONS + ["%s %s" % (pn[0], d), "Acc %s" % acc,
                                       "%s, %s follow-up" % (pn[0].upper(), pn[1]), "prior %s" % d]
        e = [
            "(0008,0005) CS [ISO_IR 192]",
            "(0008,0008) CS [ORIGINAL\\PRIMARY\\AXIAL]",
            "(0008,0016) UI =CTImageStorage",
            "(0008,0018) UI [1.2.826.0.1.3680043.2.1125.77.%d.%d]" % (seed, i),
            "(0008,0020) DA [%s]" % d,
            "(0008,0021) DA [%s]" % rnd.choice([d, date()]),
            "(0008,0022) DA [%s]" % rnd.choice([d, date()]),
            "(0008,0023) DA [%s]" % rnd.choice([d, date()]),
            "(0008,0030) TM [%02d%02d%02d]" % (rnd.randint(0, 23), rnd.randint(0, 59), rnd.randint(0, 59)),
            "(0008,0050) SH [%s]" % acc,
            "(0008,0060) CS [CT]",
            "(0008,0070) LO [%s]" % rnd.choice(["ACME Medical", "SIEMENS", "GE MEDICAL SYSTEMS", "Philips"]),
            "(0008,0080) LO [%s]" % rnd.choice(["Klinik Sonnenberg", "CT", "HOSPITAL", "St. Eva"]),
            "(0008,0090) PN [%s^%s]" % (rnd.choice(FAMILY), rnd.choice(GIVEN)),
            "(0008,1010) SH [%s]" % rnd.choice(["CT01", "STATION1", "CTAWP", "HIP"]),
            "(0008,1030) LO [%s]" % rnd.choice(descriptions),
            "(0008,103e) LO [%s]" % rnd.choice(DESCRIPTIONS),
            "(0008,1040) LO [%s]" % rnd.choice(DEPARTMENTS),
            "(0008,1070) PN [%s]" % rnd.choice(FAMILY),
            "(0008,1090) LO [%s]" % rnd.choice(["Definition AS+", "LightSpeed VCT", "Brilliance 64"]),
            "(0010,0010) PN [%s^%s]" % pn,
            "(0010,0020) LO [%s]" % pid,
            "(0010,0030) DA [19%02d%02d%02d]" % (rnd.randint(20, 99), rnd.randint(1, 12), rnd.randint(1, 28)),
            "(0010,0040) CS [%s]" % rnd.choice("MFO"),
            "(0010,1010) AS [%03dY]" % rnd.randint(1, 99),
            "(0010,1030) DS [%s]" % num(40, 120),
            "(0018,0015) CS [%s]" % rnd.choice(BODY_PARTS),
            "(0018,0050) DS [%s]" % rnd.choice(["1", "1.25", "2.5", "5"]),
            "(0018,0060) DS [%s]" % rnd.choice(["80", "100", "120", "140"]),
            "(0018,1000) LO [%s]" % num(1000, 99999),
            "(0018,1020) LO [%s]" % rnd.choice(["VA48A", "syngo CT 2012B", "1.0"]),
            "(0020,000d) UI [1.2.826.0.1.3680043.2.1125.78.%d]" % rnd.randint(1, 5),
            "(0020,000e) UI [1.2.826.0.1.3680043.2.1125.79.%d.%d]" % (seed, i),
            "(0020,0010) SH [%s]" % num(1, 9999),
            "(0020,0011) IS [%s]" % num(1, 20),
            "(0020,0012) IS [%s]" % num(1, 20),
            "(0020,0013) IS [%s]" % num(1, 500),
            "(0020,4000) LT [%s]" % rnd.choice(["", "Patient moved", "contrast 100 ml", "see prior 2020",
                                               "ID %s" % pid, "%s^%s" % pn]),
            "(0028,0002) US 1",
            "(0028,0004) CS [MONOCHROME2]",
            "(0028,0010) US 2",
            "(0028,0011) US 2",
            "(0028,0100) US 16",
            "(0028,0101) US 12",
            "(0028,0102) US 11",
            "(0028,0103) US 0",
            "(0028,0301) CS [NO]",
            "(0028,1050) DS [%s]" % rnd.choice(["40", "50", "300", "-600"]),
            "(0028,1051) DS [%s]" % rnd.choice(["400", "350", "1500", "80"]),
            "(0032,1032) PN [%s]" % rnd.choice(FAMILY),
            "(0038,0010) LO [%s]" % num(1, 999),
            "(0040,0275) SQ (Sequence with explicit length #=1)",
            "  (fffe,e000) na (Item with explicit length #=3)",
            "    (0032,1060) LO [%s]" % rnd.choice(DESCRIPTIONS + ["%s hip" % pn[0]]),
            "    (0040,1001) SH [%s]" % rnd.choice([num(1, 999), acc]),
            "    (0040,0244) DA [%s]" % rnd.choice([d, date()]),
            "  (fffe,e00d) na (ItemDelimitationItem for re-encoding)",
            "(fffe,e0dd) na (SequenceDelimitationItem for re-encoding)",
            "(7fe0,0010) OW 0001\\0002\\0003\\0004",
        ]
        dump = "%s/.mix.dump" % folder
        with open(dump, "w", encoding="utf-8") as f:
            f.write("\n".join(e) + "\n")
        subprocess.run(["dump2dcm", "--write-xfer-little", dump, "%s/mix%d.dcm" % (folder, i)], check=True,
                       stderr=subprocess.DEVNULL)
    subprocess.run(["rm", "-f", "%s/.mix.dump" % folder], check=True)


def dumps(paths):
    """dcmdump's reading of each file, one call for them all"""
    text = subprocess.run(["dcmdump", "+U8"] + paths, capture_output=True, text=True, check=True).stdout
    parts = text.split("# Dicom-File-Format")[1:]
    assert len(parts) == len(paths), "dcmdump read %d of %d files" % (len(parts), len(paths))
    return parts


def check(report):
    pairs = [(f["in"], f["out"]) for f in json.load(open(report))["files"] if "out" in f]
    leaks = 0
    for (out, held, written) in zip([p[1] for p in pairs], dumps([p[0] for p in pairs]),
                                    dumps([p[1] for p in pairs])):
        values = " | ".join(re.findall(r"\[(.*?)\]", written))

        def value(tag):
            m = re.search(r"^\(%s\) \w\w \[(.*?)\]" % tag, held, re.M)
            return m.group(1) if m else ""

        for tag in ["0010,0020", "0008,0050", "0038,0010"]:
            v = value(tag)
            if len(v) >= 4 and re.search(r"(?<!\d)%s(?!\d)" % re.escape(v), values):
                print("%s: (%s) %s survives" % (out, tag, v))
                leaks += 1
        for part in value("0010,0010").split("^"):
            if len(part) >= 4 and part.lower() in values.lower():
                print("%s: the name %s survives" % (out, part))
                leaks += 1
    return leaks


if __name__ == "__main__":
    if sys.argv[1] == "check":
        sys.exit(1 if check(sys.argv[2]) else 0)
    make(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
