"""The four data sets of the independent evaluation (built with ``sim_independent``, never committed).

Every set is a deterministic function of its seeds; ``build(set_id, workdir)``
writes its BAMs (+ truth/artefact TSVs, run profiles) under
``workdir/<set_id>/`` and a manifest ``set.json``, and reuses them when the
manifest's parameters are unchanged.

A  panel run: 4 healthy controls (5,000 / 12,000 / 25,000 / 40,000 pairs per
   amplicon; one carries a germline het SNV, one a hom SNV) and 3 tumours
   (25,000 pairs from 25,000 template molecules per amplicon), each tumour
   with 4 spikes at each of 0.1, 0.2, 0.5, 1, 2 and 5 % (molecule fractions):
   G1202R, L1196M, G1269A, C1156Y and G1202del rotated over the tumours'
   VAFs, the rest random SNVs plus one random 1-bp deletion and one 2-bp
   insertion per tumour; one tumour also carries a germline het SNV.
B  run vs run: one healthy person (one germline het SNV) sequenced in run A's
   run and in a second run, 100,000 pairs per amplicon each: no true
   difference, so every call but the germline one is false (and for the
   control model, that one too).
C  matched pair in a third run: a tumour and its normal (25,000 pairs) sharing
   two germline het SNVs, a hom SNV, a clonal allele at 99.5 % in both, and
   two alleles at high fraction that differ towards the reference (normal
   99.9 % / tumour 95 %, normal 99 % / tumour 95 %), the tumour with 11
   tumour-only SNVs (0.2-5 %) and a 1-bp deletion; plus 4 unrelated panel
   controls of the same run (10,000-25,000 pairs).
D  capture: the same slice captured over the panel regions +- 100 bp, cfDNA
   fragments N(170, 30), ~500x read depth of which 80 % unflagged duplicates
   (~100 unique molecules per site), 8-oxoG damage, NovaSeq-binned qualities,
   20 mosaic SNVs at 0.6-5.9 % (each in at least one molecule), plus 3
   capture controls of the same run.

Depth choices keep each set's generation + evaluation within a few minutes on
2 cores (measured times are in the results Markdown).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field

import numpy as np

import sim_independent as si

VAFS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)
PER_VAF = 4
PRIMER_MARGIN = 20        # spikes stay this far from the amplicon ends (primer sites)

#: Known resistance alleles of the panel (GRCh38, plus strand; G1202del left-aligned by the simulator).
KNOWN = {
    "G1202R": ("chr2", 29220747, "C", "T"),
    "L1196M": ("chr2", 29220765, "G", "T"),
    "G1269A": ("chr2", 29209816, "C", "G"),
    "C1156Y": ("chr2", 29222392, "C", "T"),
    "G1202del": si.G1202DEL,
}


@dataclass
class SampleEntry:
    """One sample of a set: its role, BAM and truth."""

    name: str
    role: str                    # control | tumour | normal | healthy
    bam: str
    truth: list[dict]
    run: str
    pairs: int
    duplicate_fraction: float
    seconds: float = 0.0


@dataclass
class DataSet:
    """A built data set."""

    set_id: str
    description: str
    directory: str
    samples: list[SampleEntry] = field(default_factory=list)
    mode: str = "amplicon"
    seconds: float = 0.0

    def role(self, role: str) -> list[SampleEntry]:
        return [s for s in self.samples if s.role == role]

    def by_name(self, name: str) -> SampleEntry:
        return next(s for s in self.samples if s.name == name)


# ---------------------------------------------------------------- spike positions

def _homopolymer_length(ref: si.Reference, pos0: int) -> int:
    b = ref.fetch(pos0, pos0 + 1)
    lo = pos0
    while lo > ref.offset and ref.fetch(lo - 1, lo) == b:
        lo -= 1
    hi = pos0 + 1
    while hi < ref.end and ref.fetch(hi, hi + 1) == b:
        hi += 1
    return hi - lo


def _candidates(ref: si.Reference, regions: list[si.Region], taken: list[int], margin: int = PRIMER_MARGIN,
                gap: int = 6) -> list[int]:
    """1-based positions inside the regions (``margin`` from the ends) at least ``gap`` from ``taken``."""
    out = []
    for r in regions:
        for p0 in range(r.start + margin, r.end - margin):
            if ref.fetch(p0, p0 + 1) in "ACGT" and all(abs(p0 + 1 - t) >= gap for t in taken):
                out.append(p0 + 1)
    return out


def _pick(rng: np.random.Generator, ref: si.Reference, regions: list[si.Region], taken: list[int],
          n: int, *, no_homopolymer: bool = False) -> list[int]:
    chosen: list[int] = []
    cand = _candidates(ref, regions, taken)
    for p in rng.permutation(cand):
        p = int(p)
        if all(abs(p - q) >= 6 for q in chosen) and (not no_homopolymer or
                                                     _homopolymer_length(ref, p - 1) < 3 and
                                                     _homopolymer_length(ref, p) < 3):
            chosen.append(p)
        if len(chosen) == n:
            break
    taken.extend(chosen)
    return chosen


def _snv(rng: np.random.Generator, ref: si.Reference, pos: int, fraction: float, kind: str, label: str
         ) -> si.Variant:
    r = ref.base(pos)
    alt = str(rng.choice([b for b in "ACGT" if b != r]))
    return si.Variant("chr2", pos, r, alt, fraction, kind, label)


def _span(v: tuple[str, int, str, str]) -> list[int]:
    return list(range(v[1], v[1] + max(len(v[2]), 1) + 1))


# ---------------------------------------------------------------- the sets

def _error_model(**changes) -> si.ErrorModel:
    return dataclasses.replace(si.ErrorModel(), **changes)


def spec_A(ref: si.Reference, regions: list[si.Region]) -> dict:
    """Samples of set A (see module docstring)."""
    rng = np.random.default_rng(1001)
    taken = [p for v in KNOWN.values() for p in _span(v)]
    germ = _pick(rng, ref, regions, taken, 3)
    controls = []
    for i, pairs in enumerate((5_000, 12_000, 25_000, 40_000)):
        variants = []
        if i == 1:
            variants.append(_snv(rng, ref, germ[0], 0.5, "germline", "germline het (control)"))
        if i == 3:
            variants.append(_snv(rng, ref, germ[1], 1.0, "germline", "germline hom (control)"))
        controls.append(("ctrl%d" % (i + 1), "control", variants, 100 + i, pairs, None))
    tumours = []
    names = list(KNOWN)
    for t in range(3):
        variants: list[si.Variant] = []
        # the 5 known alleles at rotating VAFs
        for k, name in enumerate(names):
            c, pos, r, a = KNOWN[name]
            vaf = VAFS[(k + 2 * t) % len(VAFS)]
            variants.append(si.Variant(c, pos, r, a, vaf, "somatic", name))
        counts = {v: sum(1 for x in variants if x.fraction == v) for v in VAFS}
        indel_vafs = [VAFS[(3 + t) % 6], VAFS[(5 + t) % 6]]
        for v in indel_vafs:
            counts[v] += 1
        need = [v for v in VAFS for _ in range(PER_VAF - counts[v])]
        pos = _pick(rng, ref, regions, taken, len(need))
        variants += [_snv(rng, ref, p, v, "somatic", "random SNV") for p, v in zip(pos, need)]
        dpos = _pick(rng, ref, regions, taken, 2, no_homopolymer=True)
        b = ref.base(dpos[0] + 1)
        variants.append(si.Variant("chr2", dpos[0], ref.base(dpos[0]) + b, ref.base(dpos[0]), indel_vafs[0],
                                   "somatic", "random 1-bp deletion"))
        ins = "".join(rng.choice(list("ACGT"), 2))
        variants.append(si.Variant("chr2", dpos[1], ref.base(dpos[1]), ref.base(dpos[1]) + ins, indel_vafs[1],
                                   "somatic", "random 2-bp insertion"))
        if t == 0:
            variants.append(_snv(rng, ref, germ[2], 0.5, "germline", "germline het (tumour)"))
        tumours.append(("tumour%d" % (t + 1), "tumour", variants, 200 + t, 25_000, 25_000))
    return {"runs": {"runA": 101}, "samples": [(*s, "runA") for s in controls + tumours],
            "library": {}, "errors": {}}


def spec_B(ref: si.Reference, regions: list[si.Region]) -> dict:
    rng = np.random.default_rng(2002)
    taken = [p for v in KNOWN.values() for p in _span(v)]
    g = _pick(rng, ref, regions, taken, 1)[0]
    germ = [_snv(rng, ref, g, 0.5, "germline", "germline het")]
    return {"runs": {"runA": 101, "runB2": 202},
            "samples": [("healthy_run1", "healthy", germ, 300, 100_000, None, "runA"),
                        ("healthy_run2", "healthy", germ, 301, 100_000, None, "runB2")],
            "library": {}, "errors": {}}


def spec_C(ref: si.Reference, regions: list[si.Region]) -> dict:
    rng = np.random.default_rng(3003)
    taken = [p for v in KNOWN.values() for p in _span(v)]
    pos = _pick(rng, ref, regions, taken, 6)
    shared = [_snv(rng, ref, pos[0], 0.5, "germline", "germline het 1"),
              _snv(rng, ref, pos[1], 0.5, "germline", "germline het 2"),
              _snv(rng, ref, pos[2], 1.0, "germline", "germline hom")]
    clonal = _snv(rng, ref, pos[3], 0.995, "shared", "clonal 99.5 % in both")
    d1 = _snv(rng, ref, pos[4], 0.999, "shared", "")
    d2 = _snv(rng, ref, pos[5], 0.99, "shared", "")
    normal = shared + [clonal, dataclasses.replace(d1, label="normal 99.9 % / tumour 95 %"),
                       dataclasses.replace(d2, label="normal 99 % / tumour 95 %")]
    tumour = shared + [clonal,
                       dataclasses.replace(d1, fraction=0.95, kind="diff_to_ref", label="normal 99.9 % / tumour 95 %"),
                       dataclasses.replace(d2, fraction=0.95, kind="diff_to_ref", label="normal 99 % / tumour 95 %")]
    c, p, r, a = KNOWN["G1202R"]
    tumour.append(si.Variant(c, p, r, a, 0.005, "somatic", "G1202R"))
    c, p, r, a = KNOWN["L1196M"]
    tumour.append(si.Variant(c, p, r, a, 0.002, "somatic", "L1196M"))
    taken += [p for v in KNOWN.values() for p in _span(v)]
    rest = (0.002, 0.005, 0.01, 0.01, 0.02, 0.02, 0.05, 0.05, 0.005)
    spos = _pick(rng, ref, regions, taken, len(rest))
    tumour += [_snv(rng, ref, p, v, "somatic", "random SNV") for p, v in zip(spos, rest)]
    dpos = _pick(rng, ref, regions, taken, 1, no_homopolymer=True)[0]
    tumour.append(si.Variant("chr2", dpos, ref.base(dpos) + ref.base(dpos + 1), ref.base(dpos), 0.01,
                             "somatic", "random 1-bp deletion"))
    controls = [("panel%d" % (i + 1), "control", [], 400 + i, pairs, None, "runC")
                for i, pairs in enumerate((10_000, 15_000, 20_000, 25_000))]
    return {"runs": {"runC": 303},
            "samples": controls + [("normal", "normal", normal, 410, 25_000, 25_000, "runC"),
                                   ("tumour", "tumour", tumour, 411, 25_000, 25_000, "runC")],
            "library": {}, "errors": {}}


def spec_D(ref: si.Reference, regions: list[si.Region]) -> dict:
    rng = np.random.default_rng(4004)
    taken = [p for v in KNOWN.values() for p in _span(v)]
    pos = _pick(rng, ref, regions, taken, 20)
    vafs = np.round(np.linspace(0.006, 0.059, 20), 4)
    mosaic = [_snv(rng, ref, p, float(v), "somatic", "mosaic SNV") for p, v in zip(pos, vafs)]
    controls = [("capctrl%d" % (i + 1), "control", [], 500 + i, 500, None, "runD") for i in range(3)]
    return {"runs": {"runD": 404},
            "samples": controls + [("capture", "tumour", mosaic, 510, 500, None, "runD")],
            "library": {"mode": "capture", "pairs": 500, "duplicate_rate": 0.8},
            "errors": {"oxidation": {"enabled": True}, "quality": {"binning": "novaseq"},
                       "pcr": {"cycles": 12}}}


SPECS = {"A": spec_A, "B": spec_B, "C": spec_C, "D": spec_D}
DESCRIPTIONS = {
    "A": "panel run: 4 controls + 3 tumours, spikes 0.1-5 % (~25,000 molecules per amplicon)",
    "B": "run vs run: the same healthy sample in two runs at 100,000 pairs per amplicon",
    "C": "matched pair: tumour + normal with shared and high-fraction alleles, + 4 panel controls",
    "D": "capture: ~500x reads, 80 % unflagged duplicates, 8-oxoG, 20 mosaic SNVs 0.6-5.9 %",
}


def _errors_from(changes: dict) -> si.ErrorModel:
    em = si.ErrorModel()
    for part, fields in changes.items():
        em = dataclasses.replace(em, **{part: dataclasses.replace(getattr(em, part), **fields)})
    return em


def error_model(set_id: str) -> si.ErrorModel:
    """The error model a set is simulated with."""
    return _errors_from(SPECS[set_id](si.Reference(), si.read_bed())["errors"])


def _fingerprint(spec: dict) -> str:
    def enc(o):
        if isinstance(o, si.Variant):
            return dataclasses.asdict(o)
        raise TypeError(type(o))
    text = json.dumps(spec, default=enc, sort_keys=True)
    with open(si.__file__, "rb") as fh:
        code = fh.read()
    return hashlib.sha256(text.encode() + code).hexdigest()[:16]


def build(set_id: str, workdir: str, *, reference: str = si.DEFAULT_FASTA, bed: str = si.DEFAULT_BED,
          threads: int = 2, log=print) -> DataSet:
    """Build (or reuse) data set ``set_id`` under ``workdir/set_id``."""
    import time

    ref, regions = si.Reference(reference), si.read_bed(bed)
    spec = SPECS[set_id](ref, regions)
    directory = os.path.join(workdir, set_id)
    os.makedirs(directory, exist_ok=True)
    manifest = os.path.join(directory, "set.json")
    fp = _fingerprint(spec)
    if os.path.exists(manifest):
        with open(manifest) as fh:
            saved = json.load(fh)
        if saved.get("fingerprint") == fp and all(os.path.exists(s["bam"]) for s in saved["samples"]):
            ds = DataSet(set_id, saved["description"], directory, mode=saved["mode"], seconds=saved["seconds"])
            ds.samples = [SampleEntry(**s) for s in saved["samples"]]
            return ds
    t0 = time.perf_counter()
    errors = _errors_from(spec["errors"])
    library = si.Library(**spec["library"])
    runs = {name: si.RunProfile(ref, regions, seed, params=errors.run) for name, seed in spec["runs"].items()}
    for name, run in runs.items():
        run.write(os.path.join(directory, f"{name}.profile.tsv"))
    ds = DataSet(set_id, DESCRIPTIONS[set_id], directory, mode=library.mode)
    for name, role, variants, seed, pairs, molecules, run_name in spec["samples"]:
        t1 = time.perf_counter()
        lib = dataclasses.replace(library, pairs=pairs, molecules=molecules)
        bam = os.path.join(directory, f"{name}.bam")
        truth = si.simulate_sample(bam, si.SampleSpec(name, variants, seed, lib), reference=ref, regions=regions,
                                   run=runs[run_name], errors=errors, threads=threads)
        ds.samples.append(SampleEntry(name, role, bam, truth.rows, run_name, truth.pairs,
                                      round(truth.duplicate_fraction, 4), round(time.perf_counter() - t1, 2)))
        log(f"  {set_id}/{name}: {truth.pairs} pairs ({time.perf_counter() - t1:.1f} s)")
    ds.seconds = round(time.perf_counter() - t0, 1)
    with open(manifest, "w") as fh:
        json.dump({"fingerprint": fp, "description": ds.description, "mode": ds.mode, "seconds": ds.seconds,
                   "runs": spec["runs"], "samples": [dataclasses.asdict(s) for s in ds.samples]}, fh, indent=1)
    return ds


def run_profile(ds: DataSet, run_name: str) -> dict[tuple[int, str], dict[str, float]]:
    """(pos, alt) -> the run's systematic-error parameters, from the profile TSV."""
    out: dict[tuple[int, str], dict[str, float]] = {}
    with open(os.path.join(ds.directory, f"{run_name}.profile.tsv")) as fh:
        header = fh.readline().rstrip("\n").split("\t")
        for line in fh:
            f = line.rstrip("\n").split("\t")
            row = dict(zip(header, f))
            out[(int(row["pos"]), row["alt"])] = {k: float(row[k]) for k in header[3:]}
    return out
