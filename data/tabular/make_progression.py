#!/usr/bin/env python3
"""Writes progression.csv: 442 made-up patients, ten measurements each, and a disease-progression score a year on.

The columns and their scales follow the kind of table clinical regressions start from (ages in years, a sex coded
1 or 2, body-mass index, blood pressure, six blood serum measurements in their own units) and the target is a score
of about 150 +- 75. None of it is real data: every number is drawn here, from a fixed seed, by Python's own
generator, so running this again writes the same file byte for byte. About half of the target's variance is
explained by the features (partly through a bend in body-mass index); the rest is noise no model can learn, so
predicting the mean scores an RMSE near 75 and a good model one near 55.

    python3 data/tabular/make_progression.py   # rewrites data/tabular/progression.csv
"""
import os
import random

ROWS = 442
SEED = 20261207


def clip(value, low, high):
    return max(low, min(high, value))


def main():
    rng = random.Random(SEED)
    lines = ["age,sex,bmi,bp,tc,ldl,hdl,tch,ltg,glu,progression"]
    for _ in range(ROWS):
        age = round(clip(rng.gauss(48, 13), 19, 79))
        sex = rng.choice((1, 2))
        bmi = round(clip(rng.gauss(26.4, 4.4), 18, 42), 1)
        bp = round(clip(94.6 + 0.25 * (age - 48) + 0.8 * (bmi - 26.4) + rng.gauss(0, 12.5), 62, 133))
        tc = round(clip(rng.gauss(189, 34), 97, 301))
        ldl = round(clip(115 + 0.9 * (tc - 189) + rng.gauss(0, 15), 41, 242), 1)
        hdl = round(clip(50 - 0.6 * (bmi - 26.4) + rng.gauss(0, 13), 22, 99))
        tch = round(tc / hdl, 2)
        ltg = round(clip(4.64 + 0.03 * (bmi - 26.4) + rng.gauss(0, 0.5), 3.2, 6.1), 4)
        glu = round(clip(91 + 0.6 * (bmi - 26.4) + rng.gauss(0, 11), 58, 124))
        score = (152 + 9.5 * (bmi - 26.4) + 0.5 * (bp - 94.6) + 60 * (ltg - 4.64) - 0.8 * (hdl - 50)
                 + 6 * (sex - 1.5) + 1.5 * max(0.0, bmi - 30) ** 2 + rng.gauss(0, 54))
        progression = round(clip(score, 25, 346))
        lines.append(f"{age},{sex},{bmi},{bp},{tc},{ldl},{hdl},{tch},{ltg},{glu},{progression}")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "progression.csv")
    with open(path + ".tmp", "w", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
