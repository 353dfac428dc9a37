#!/usr/bin/env python3
"""Write N rows of the benchmark table (deterministic) to standard output.
With "distinct" as the second argument, no two rows share a family name, so
that nothing the tool remembers between rows can be of use."""
import random
import sys

n = int(sys.argv[1])
distinct = len(sys.argv) > 2 and sys.argv[2] == "distinct"
rnd = random.Random(42)
fam = ["Müller", "Meier", "Schmidt", "Παπαδόπουλος", "Nguyễn", "O'Brien", "Dupont-Lefèvre", "Иванов", "Smith", "García"]
giv = ["Jürgen", "Anna", "Zoë", "Γιώργος", "Thị Lan", "Seán", "Élodie", "Пётр", "John", "José"]
out = sys.stdout
out.write("family,given,dob,insurance,zip,admission,age,phone,email,side,implant,score\r\n")
for i in range(n):
    f = fam[i % 10] + ("" if i % 7 else " ")
    if distinct:  # a letter suffix: i in base 26
        k, suffix = i, ""
        while True:
            suffix, k = "abcdefghijklmnopqrstuvwxyz"[k % 26] + suffix, k // 26
            if k == 0:
                break
        f += "-" + suffix
    g = giv[(i // 10) % 10]
    d = "%02d.%02d.%d" % (1 + i % 28, 1 + i % 12, 1930 + i % 80)
    ins = "756.%04d.%04d.%02d" % (i % 10000, (i // 10000) % 10000, i % 97)
    z = "%05d" % (1000 + (i * 7919) % 98000)
    adm = "20%02d-%02d-%02d" % (10 + i % 15, 1 + i % 12, 1 + i % 28)
    out.write('%s,%s,%s,%s,%s,%s,%d,+41 44 %07d,p%d@example.org,%s,"Corail, KA",%d\r\n'
              % (f, g, d, ins, z, adm, 20 + i % 80, i, i, "left" if i % 2 else "right", rnd.randint(0, 100)))
