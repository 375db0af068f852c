"""Shared test helpers: SAM text -> sorted, indexed BAM, and a small FASTA.

Both are plain functions (importable from tests) and also exposed as fixtures
returning those functions, so tests can use either style.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pysam
import pytest

# Markers (declared in pyproject.toml): ``slow`` for end-to-end tests of several
# seconds, ``aligners`` for tests that run bwa/bowtie2/samtools.  A fast subset
# is ``pytest -m "not slow"``.  A test marked ``aligners`` is skipped, with the
# reason, only where the tools are missing (.ci/run installs them).
ALIGNER_TOOLS = ("bwa", "bowtie2", "bowtie2-build", "samtools")


def pytest_collection_modifyitems(config, items):
    missing = [tool for tool in ALIGNER_TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    skip = pytest.mark.skip(reason=f"needs {', '.join(missing)} on PATH (apt-get install bwa bowtie2 samtools)")
    for item in items:
        if "aligners" in item.keywords:
            item.add_marker(skip)


def sam_header(contigs: dict[str, int], so: str = "coordinate") -> str:
    """@HD/@SQ header lines for ``contigs`` (name -> length)."""
    lines = [f"@HD\tVN:1.6\tSO:{so}"]
    lines += [f"@SQ\tSN:{name}\tLN:{length}" for name, length in contigs.items()]
    return "\n".join(lines) + "\n"


def sam_to_bam(tmp_path: str | os.PathLike[str], sam_text: str, name: str = "reads",
               sort: bool = True, index: bool = True) -> str:
    """Write SAM text (header included) to ``tmp_path/name.bam``, coordinate
    sorted and indexed (by default); returns the BAM path."""
    tmp = Path(tmp_path)
    tmp.mkdir(parents=True, exist_ok=True)
    sam = tmp / f"{name}.sam"
    if not sam_text.endswith("\n"):
        sam_text += "\n"
    sam.write_text(sam_text)
    bam = tmp / f"{name}.bam"
    if sort:
        unsorted = tmp / f"{name}.unsorted.bam"
        pysam.view("-b", "-o", str(unsorted), str(sam), catch_stdout=False)
        pysam.sort("-o", str(bam), str(unsorted), catch_stdout=False)
        unsorted.unlink()
    else:
        pysam.view("-b", "-o", str(bam), str(sam), catch_stdout=False)
    if index:
        pysam.index(str(bam), catch_stdout=False)
    return str(bam)


def ref_fasta(tmp_path: str | os.PathLike[str], seqs: dict[str, str], name: str = "ref",
              width: int = 60) -> str:
    """Write ``seqs`` (name -> sequence) as ``tmp_path/name.fa`` with a .fai; returns the path."""
    tmp = Path(tmp_path)
    tmp.mkdir(parents=True, exist_ok=True)
    fa = tmp / f"{name}.fa"
    with open(fa, "w") as fh:
        for contig, seq in seqs.items():
            fh.write(f">{contig}\n")
            for i in range(0, len(seq), width):
                fh.write(seq[i:i + width] + "\n")
    pysam.faidx(str(fa))
    return str(fa)


@pytest.fixture(name="sam_to_bam")
def sam_to_bam_fixture():
    return sam_to_bam


@pytest.fixture(name="ref_fasta")
def ref_fasta_fixture():
    return ref_fasta


# ---------------------------------------------------------------- one simulated run for the session

DATA = Path(__file__).resolve().parents[1] / "src" / "deepamp" / "data"
ALK_REF = str(DATA / "ALK_hg38_chr2_29191796-29223795.fa")
ALK_BED = str(DATA / "alk_exons22-25_amplicons.bed")
CHR2_LENGTH = 242_193_529


class AmpliconRun:
    """Simulated ALK exons 22-25 run: healthy controls and a tumour sharing the run's artefacts.

    Tumour spikes (GRCh38): G1202R 5 %, G1269A 3 %, L1196M 1 %, and a 1-bp deletion at 4 %.
    """

    def __init__(self, directory: Path, pairs: int = 3000, n_controls: int = 3):
        from deepamp.simulate import Spike, simulate

        self.ref, self.bed, self.pairs = ALK_REF, ALK_BED, pairs
        self.spikes = (Spike("chr2", 29220747, "C", "T", 0.05), Spike("chr2", 29209816, "C", "G", 0.03),
                       Spike("chr2", 29220765, "G", "T", 0.01), Spike("chr2", 29222340, "TT", "T", 0.04))
        lengths = {"chr2": CHR2_LENGTH}
        self.tumour = str(directory / "tumour.bam")
        simulate(self.ref, self.bed, self.tumour, pairs_per_amplicon=pairs, spikes=self.spikes, run_seed=21,
                 sample_seed=5, contig_length=lengths, sample="tumour")
        self.controls = []
        for j in range(n_controls):
            path = str(directory / f"control{j + 1}.bam")
            simulate(self.ref, self.bed, path, pairs_per_amplicon=pairs, run_seed=21, sample_seed=100 + j,
                     contig_length=lengths, sample=f"control{j + 1}")
            self.controls.append(path)


@pytest.fixture(scope="session")
def amplicon_run(tmp_path_factory) -> AmpliconRun:
    """One simulated run (tumour + 3 controls, 3,000 pairs per amplicon) shared by the session."""
    return AmpliconRun(tmp_path_factory.mktemp("amplicon_run"))
