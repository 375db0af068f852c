"""The counts of one sample: :class:`CountResult`, from the kernel, a file or any arrays.

Every model works on a CountResult, wherever its numbers came from:
:func:`deepamp.count` (the BAM/CRAM kernel), :func:`load_counts` (a saved
``.npz``) or :meth:`CountResult.from_arrays` (counts of pysam
``count_coverage``, deepSNV's bam2R tables or another pipeline).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deepamp.errors import FormatError, InputFileError, OptionError
from deepamp.io.regions import Region
from deepamp.options import CountOptions

#: Symbols of the count axis: A C G T N, DEL (position deleted), INS (an insertion follows).
SYMBOLS = ("A", "C", "G", "T", "N", "DEL", "INS")
#: Quality bins of the histograms (Phred 0..63, higher clipped to 63).
NQUAL = 64
COUNT_FORMAT_VERSION = 2

__all__ = ["CountResult", "IndelEvents", "load_counts", "SYMBOLS", "NQUAL", "COUNT_FORMAT_VERSION"]


@dataclass(frozen=True)
class IndelEvents:
    """Distinct indel events, anchored at the reference base before the event.

    ``length`` > 0 is an insertion of ``sequence``; < 0 a deletion of that many
    reference bases.  ``count`` is (n, 2): forward, reverse fragments.
    """

    contig: np.ndarray      # str per event
    pos: np.ndarray         # int64, 0-based anchor
    length: np.ndarray      # int32
    sequence: np.ndarray    # str per event ("" for deletions)
    count: np.ndarray       # uint32 (n, 2)

    def __len__(self) -> int:
        return len(self.pos)

    @classmethod
    def empty(cls) -> "IndelEvents":
        """No events."""
        return cls(np.array([], dtype=str), np.zeros(0, np.int64), np.zeros(0, np.int32),
                   np.array([], dtype=str), np.zeros((0, 2), np.uint32))


def _regions_of(contig: np.ndarray, pos: np.ndarray) -> list[Region]:
    """Runs of consecutive positions on one contig, in axis order."""
    if len(pos) == 0:
        return []
    brk = np.flatnonzero((contig[1:] != contig[:-1]) | (pos[1:] != pos[:-1] + 1)) + 1
    starts = np.concatenate(([0], brk))
    ends = np.concatenate((brk, [len(pos)]))
    return [Region(str(contig[a]), int(pos[a]), int(pos[b - 1]) + 1) for a, b in zip(starts, ends)]


@dataclass
class CountResult:
    """Counts over the (merged, sorted) regions, flattened along positions.

    Attributes
    ----------
    regions : list of Region, in the order of the position axis
    contig, pos : per position contig name and 0-based coordinate
    ref : per position upper-case reference base ("N" if no reference was given)
    counts : uint32 (P, 7, 2), symbols A C G T N DEL INS x strand (forward, reverse)
    qual_hist : uint32 (P, 64) or None, counted A/C/G/T bases by Phred quality (clipped at 63)
    read_stats, base_stats : what was used and what was dropped, by reason
    indels : IndelEvents
    options : the CountOptions the counts were made with (None: unknown, e.g. other software)
    source : where the counts come from (``bam``, ``reference``, ``sample``, ``loaded_from``)
    header_contigs : (name, length or None) of every contig of the alignment header
    junction : uint32 (P, 2) or None, fragments whose aligned bases or deletions
        cover both position p and p+1, by strand (what an indel anchored at p is
        tested against); None for counts that did not come from the kernel
    lod : float (P,) or None, each position's SNV limit of detection (VAF) when a caller attached
        :meth:`deepamp.CallSet.detection_limits` ``.site`` (NaN: not tested); saved with the counts
    """

    regions: list[Region]
    contig: np.ndarray
    pos: np.ndarray
    ref: np.ndarray
    counts: np.ndarray
    qual_hist: np.ndarray | None
    read_stats: dict[str, int]
    base_stats: dict[str, int]
    indels: IndelEvents
    options: CountOptions | None = None
    source: dict[str, Any] = field(default_factory=dict)
    header_contigs: tuple[tuple[str, int | None], ...] = ()
    junction: np.ndarray | None = None
    lod: np.ndarray | None = None

    # ------------------------------------------------------------ building


    def __repr__(self) -> str:
        contigs = ", ".join(dict.fromkeys(str(c) for c in self.contig[:1000])) or "-"
        return (f"<CountResult {len(self.pos):,} positions in {len(self.regions)} region(s) on {contigs}, "
                f"median depth {int(np.median(self.depth)) if len(self.pos) else 0:,}, "
                f"from {self.source.get('origin', self.source.get('bam', '?')) if self.source else '?'}>")

    @classmethod
    def from_arrays(cls, contig: str | Sequence[str] | np.ndarray, pos: Sequence[int] | np.ndarray,
                    ref: str | Sequence[str] | np.ndarray, counts: np.ndarray, *,
                    qual_hist: np.ndarray | None = None, indels: IndelEvents | None = None,
                    junction: np.ndarray | None = None, options: CountOptions | None = None,
                    lod: np.ndarray | None = None, read_stats: Mapping[str, int] | None = None, base_stats: Mapping[str, int] | None = None,
                    source: Mapping[str, Any] | None = None,
                    contig_lengths: Mapping[str, int] | None = None) -> "CountResult":
        """Counts from numpy arrays of any origin, checked.

        Parameters
        ----------
        contig : one contig name for every position, or a single name for all
        pos : 0-based positions, increasing within each contig (no repeats)
        ref : reference bases, one per position (a string or an array of single letters)
        counts : integer array (P, S, 2) with S = 4..7 symbols A C G T [N [DEL [INS]]] by
            strand (forward, reverse); missing symbols are zero.  E.g. pysam
            ``count_coverage`` run once per strand, stacked: ``np.stack([fwd, rev], -1)``
            after ``np.stack([a, c, g, t], 1)``.
        qual_hist : optional (P, Q) counts of the counted A/C/G/T bases by Phred quality
            (Q <= 64); without it the quality model needs ``CallOptions.base_error_rate``
        indels : optional IndelEvents (anchored, 0-based)
        junction : optional (P, 2) fragments spanning p -> p+1 per strand (indel depth);
            without it it is estimated as min(depth at p, depth at p+1)
        options : the CountOptions the counts correspond to, if known
        lod : optional (P,) limits of detection (VAF, NaN where unknown)
        read_stats, base_stats, source : optional bookkeeping
        contig_lengths : optional contig lengths for VCF headers

        Raises
        ------
        OptionError
            Inconsistent shapes, negative or non-integer counts, unsorted positions.
        """
        pos_a = np.asarray(pos)
        if pos_a.ndim != 1 or pos_a.dtype.kind not in "iu":
            raise OptionError("pos must be a 1-D integer array")
        n = len(pos_a)
        pos_a = pos_a.astype(np.int64)
        contig_a = np.full(n, contig, dtype=object).astype(str) if isinstance(contig, str) \
            else np.asarray(contig).astype(str)
        ref_a = np.array(list(ref.upper()), dtype=str) if isinstance(ref, str) \
            else np.char.upper(np.asarray(ref).astype(str))
        if contig_a.shape != (n,) or ref_a.shape != (n,):
            raise OptionError(f"contig and ref must have one entry per position ({n})")
        if n and (pos_a.min() < 0 or np.any(np.char.str_len(ref_a) != 1)):
            raise OptionError("positions must be >= 0 and ref one base per position")
        same = contig_a[1:] == contig_a[:-1]
        if np.any(same & (pos_a[1:] <= pos_a[:-1])):
            raise OptionError("positions must increase within each contig")
        seen: list[str] = []
        for c in contig_a[np.concatenate(([True], ~same))] if n else []:
            if c in seen:
                raise OptionError(f"contig {c} appears in two separate runs of positions")
            seen.append(str(c))
        c = np.asarray(counts)
        if c.ndim != 3 or c.shape[0] != n or not 4 <= c.shape[1] <= 7 or c.shape[2] != 2:
            raise OptionError(f"counts must have shape (P, 4..7, 2) with P = {n}, not {c.shape}")
        if c.dtype.kind not in "iu" or (c.size and c.min() < 0):
            raise OptionError("counts must be non-negative integers")
        full = np.zeros((n, 7, 2), np.uint32)
        full[:, :c.shape[1], :] = c
        qh = None
        if qual_hist is not None:
            q = np.asarray(qual_hist)
            if q.ndim != 2 or q.shape[0] != n or not 1 <= q.shape[1] <= NQUAL or q.dtype.kind not in "iu" \
                    or (q.size and q.min() < 0):
                raise OptionError(f"qual_hist must be non-negative integers of shape (P, <= {NQUAL})")
            qh = np.zeros((n, NQUAL), np.uint32)
            qh[:, :q.shape[1]] = q
        jn = None
        if junction is not None:
            jn = np.asarray(junction)
            if jn.shape != (n, 2) or jn.dtype.kind not in "iu":
                raise OptionError("junction must be an integer array of shape (P, 2)")
            jn = jn.astype(np.uint32)
        ld = None
        if lod is not None:
            ld = np.asarray(lod)
            if ld.shape != (n,) or ld.dtype.kind != "f":
                raise OptionError("lod must be a float array of shape (P,)")
            ld = ld.astype(np.float64)
        lengths = dict(contig_lengths or {})
        return cls(_regions_of(contig_a, pos_a), contig_a, pos_a, ref_a, full, qh,
                   dict(read_stats or {}), dict(base_stats or {}), indels or IndelEvents.empty(),
                   options, dict(source or {"origin": "arrays"}),
                   tuple((name, lengths.get(name)) for name in seen), jn, ld)

    # ------------------------------------------------------------ derived arrays

    @property
    def depth(self) -> np.ndarray:
        """Bases counted per position (A+C+G+T+N, both strands)."""
        return self.counts[:, :5, :].sum(axis=(1, 2), dtype=np.int64)

    @property
    def depth_with_deletions(self) -> np.ndarray:
        """Bases plus deletions per position (LoFreq/samtools-style coverage)."""
        return self.counts[:, :6, :].sum(axis=(1, 2), dtype=np.int64)

    @property
    def ref_code(self) -> np.ndarray:
        """int8 per position: 0..3 for A, C, G, T; 4 for anything else."""
        lut = np.full(256, 4, dtype=np.int8)
        for i, b in enumerate(b"ACGT"):
            lut[b] = i
        return lut[self.ref.astype("S1").view(np.uint8)]

    @property
    def sample(self) -> str | None:
        """The sample name (read-group ``SM``) when known."""
        return self.source.get("sample")

    def junction_depth(self) -> np.ndarray:
        """int64 (P, 2): fragments per strand spanning p -> p+1.

        Exact from the kernel (:attr:`junction`); counts made elsewhere without
        it get ``min(observed at p, observed at p+1)``, which over-counts where
        fragments end at p and others start at p+1 on the same strand.
        """
        if self.junction is not None:
            return self.junction.astype(np.int64)
        obs = self.counts[:, :6, :].sum(axis=1, dtype=np.int64)
        nxt = obs.copy()
        if len(obs) > 1:
            same = (self.contig[1:] == self.contig[:-1]) & (self.pos[1:] == self.pos[:-1] + 1)
            nxt[:-1][same] = obs[1:][same]
        return np.minimum(obs, nxt)

    def index_of(self, contig: str, pos: int) -> int:
        """Row of 0-based ``pos`` on ``contig``; KeyError if not counted."""
        hits = np.flatnonzero((self.pos == pos) & (self.contig == contig))
        if not len(hits):
            raise KeyError(f"{contig}:{pos + 1} is not in the counted regions")
        return int(hits[0])

    def summary_lines(self) -> list[str]:
        """Every read and base used or dropped, by reason (one line each)."""
        rs, bs = self.read_stats, self.base_stats
        reads = ", ".join(f"{k}={v}" for k, v in rs.items() if k not in ("seen", "used") and v)
        bases = ", ".join(f"{k}={v}" for k, v in bs.items() if k != "counted" and v)
        out = []
        if rs:
            out.append(f"reads: {rs.get('seen', 0)} seen, {rs.get('used', 0)} used" + (f"; {reads}" if reads else ""))
        if bs:
            out.append(f"bases: {bs.get('counted', 0)} counted" + (f"; {bases}" if bases else ""))
        return out

    def _describe(self) -> str:
        items = dict(sorted((k, v) for k, v in self.source.items() if v is not None))
        if self.options is not None:
            items.update(self.options.to_dict())
        return ";".join(f"{k}={v}" for k, v in items.items())

    # ------------------------------------------------------------ files

    def write_tsv(self, path: str | os.PathLike[str]) -> None:
        """Write the count table as TSV (1-based positions), atomically."""
        from deepamp.io.outputs import output_text

        names = [f"{s}_{d}" for s in SYMBOLS for d in ("fwd", "rev")]
        flat = self.counts.reshape(len(self.pos), -1)
        depth = self.depth

        def lines():
            yield "#deepamp count table v%d\n" % COUNT_FORMAT_VERSION
            yield "#params\t" + self._describe() + "\n"
            yield "\t".join(["contig", "pos", "ref", *names, "depth"]) + "\n"
            for i in range(len(self.pos)):
                row = "\t".join(map(str, flat[i].tolist()))
                yield f"{self.contig[i]}\t{self.pos[i] + 1}\t{self.ref[i]}\t{row}\t{depth[i]}\n"

        output_text(path, lines())

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save in the compact binary form (numpy .npz), atomically; see :func:`load_counts`."""
        import io
        import json

        from deepamp.io.outputs import output_bytes

        ind = self.indels
        arrays = dict(
            format_version=np.array(COUNT_FORMAT_VERSION),
            contig=self.contig, pos=self.pos, ref=self.ref, counts=self.counts,
            read_stats_names=np.array(list(self.read_stats), dtype=str),
            read_stats=np.array(list(self.read_stats.values()), dtype=np.int64),
            base_stats_names=np.array(list(self.base_stats), dtype=str),
            base_stats=np.array(list(self.base_stats.values()), dtype=np.int64),
            indel_contig=ind.contig, indel_pos=ind.pos, indel_length=ind.length,
            indel_sequence=ind.sequence, indel_count=ind.count,
            meta=np.array(json.dumps({
                "options": None if self.options is None else self.options.to_dict(),
                "source": {k: v for k, v in self.source.items() if isinstance(v, (str, int, float, bool))},
                "header_contigs": [list(c) for c in self.header_contigs]}, sort_keys=True)),
        )
        if self.qual_hist is not None:
            arrays["qual_hist"] = self.qual_hist
        if self.junction is not None:
            arrays["junction"] = self.junction
        if self.lod is not None:
            arrays["lod"] = self.lod
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        output_bytes(path, buf.getvalue())


def load_counts(path: str | os.PathLike[str]) -> CountResult:
    """Load a count table written by :meth:`CountResult.save`.

    Raises
    ------
    InputFileError
        The file is missing or not a deepamp count file.
    FormatError
        A count file of another format version, or with inconsistent arrays.
    """
    import json

    from deepamp.io.npz import open_npz

    path = os.fspath(path)
    with open_npz(path, "count file") as z:
        if "format_version" not in z:
            raise InputFileError(f"{path}: not a deepamp count file")
        version = int(z["format_version"])
        if version != COUNT_FORMAT_VERSION:
            raise FormatError(f"{path}: count file version {version}, this deepamp reads {COUNT_FORMAT_VERSION}; "
                              "count the BAM again")
        try:
            meta = json.loads(str(z["meta"]))
            indels = IndelEvents(z["indel_contig"], z["indel_pos"], z["indel_length"],
                                 z["indel_sequence"], z["indel_count"])
            options = None if meta["options"] is None else CountOptions.from_dict(meta["options"])
            res = CountResult.from_arrays(
                z["contig"], z["pos"], z["ref"], z["counts"],
                qual_hist=z["qual_hist"] if "qual_hist" in z else None, indels=indels,
                junction=z["junction"] if "junction" in z else None, options=options,
                lod=z["lod"] if "lod" in z else None,
                read_stats=dict(zip(map(str, z["read_stats_names"]), map(int, z["read_stats"]))),
                base_stats=dict(zip(map(str, z["base_stats_names"]), map(int, z["base_stats"]))),
                source={**meta["source"], "loaded_from": path},
                contig_lengths={c: n for c, n in meta["header_contigs"] if n})
        except (KeyError, ValueError, OptionError) as exc:
            raise FormatError(f"{path}: count file is corrupt ({exc})") from None
        res.header_contigs = tuple((c, n) for c, n in meta["header_contigs"])
        return res
