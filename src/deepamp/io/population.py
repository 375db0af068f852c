"""Population allele frequencies from a bgzipped, indexed VCF with INFO/AF (e.g. gnomAD).

Records are split into one per ALT allele and trimmed to their minimal
representation, so an indel never matches an SNV and left-normalised indels
match left-normalised indels; contig names ``chr2`` and ``2`` (and ``chrM`` /
``MT``) are mapped onto each other.
"""

from __future__ import annotations

import os

from deepamp.errors import FormatError, IndexFileError, InputFileError
from deepamp.normalise import trim_alleles

__all__ = ["PopulationVcf"]


class PopulationVcf:
    """Allele frequencies from a bgzipped, indexed VCF with INFO/AF.

    Raises
    ------
    InputFileError / IndexFileError / FormatError
        Missing file, missing .tbi/.csi index, no INFO/AF in the header.
    """

    def __init__(self, path: str):
        import pysam

        self.path = path
        if not os.path.exists(path):
            raise InputFileError(f"{path}: population VCF not found")
        if not (os.path.exists(path + ".tbi") or os.path.exists(path + ".csi")):
            raise IndexFileError(f"{path}: population VCF has no tabix index (.tbi/.csi); "
                                 f"bgzip it and run `tabix -p vcf {path}`")
        try:
            self._tbx = pysam.TabixFile(path)
        except (OSError, ValueError) as exc:
            raise InputFileError(f"{path}: cannot open population VCF ({exc})") from None
        if not any(h.startswith("##INFO=<ID=AF,") for h in self._tbx.header):
            raise FormatError(f"{path}: population VCF has no INFO/AF field in its header")
        self.contigs = set(self._tbx.contigs)
        self._cache: dict[tuple[str, int], dict[tuple[str, str], float]] = {}

    def map_contig(self, contig: str) -> str | None:
        """The file's name for ``contig`` (``chr2`` <-> ``2``), or None if absent."""
        if contig in self.contigs:
            return contig
        alt = contig[3:] if contig.startswith("chr") else "chr" + contig
        if alt in self.contigs:
            return alt
        if contig in ("chrM", "MT"):
            other = "MT" if contig == "chrM" else "chrM"
            return other if other in self.contigs else None
        return None

    def lookup(self, contig: str, pos: int, ref: str, alt: str) -> float | None:
        """AF of the allele (1-based ``pos``) after normalisation, None if not listed."""
        pos, ref, alt = trim_alleles(pos, ref.upper(), alt.upper())
        name = self.map_contig(contig)
        if name is None:
            return None
        key = (name, pos)
        if key not in self._cache:
            table: dict[tuple[str, str], float] = {}
            for line in self._tbx.fetch(name, max(0, pos - 51), pos + 50):
                f = line.split("\t")
                if len(f) < 8:
                    continue
                afs = next((kv[3:].split(",") for kv in f[7].split(";") if kv.startswith("AF=")), None)
                if afs is None:
                    continue
                for a, af in zip(f[4].split(","), afs):
                    p2, r2, a2 = trim_alleles(int(f[1]), f[3].upper(), a.upper())
                    if p2 == pos:
                        try:
                            v = float(af)
                        except ValueError:
                            continue
                        table[(r2, a2)] = max(v, table.get((r2, a2), 0.0))
            self._cache[key] = table
        return self._cache[key].get((ref, alt))
