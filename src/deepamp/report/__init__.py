"""``deepamp report``: self-contained HTML reports of annotated samples, for a tumour board and for the lab.

One sample (:func:`write_report`): the VCF of ``deepamp call`` (possibly
through ``phase`` and ``concordance``), its ``deepamp annotate`` JSON and,
optionally, the count table (depth per amplicon), the amplicon BED and the
background of the controls.  Several time points of one patient
(:func:`write_longitudinal`): their VCFs in time order, optionally with their
annotations, give the VAF of every call over time with emergence and loss.

Each page is one HTML file: inline CSS and inline SVG figures, no script and
nothing loaded from anywhere (citations carry their DOI as an ordinary link).
Every text taken from an input is HTML-escaped, and the file is written
complete or not at all.

Modules: :mod:`.inputs` (VCF and annotation), :mod:`.panel` (count table,
amplicons, background, LOD), :mod:`.qc` (reads/bases lines, coverage per
amplicon), :mod:`.resistance` (bypass findings, ranking groups, sources),
:mod:`.plots` and :mod:`.svg` (figures), :mod:`.markup` (HTML and style),
:mod:`.page` (one sample), :mod:`.longitudinal` (time points).
"""

from __future__ import annotations

from deepamp.report.inputs import read_annotation, read_call_vcf
from deepamp.report.longitudinal import write_longitudinal
from deepamp.report.page import write_report
from deepamp.report.panel import LOD_ARRAY
from deepamp.report.qc import DEFAULT_MIN_COV
from deepamp.report.stats import wilson_interval

__all__ = ["write_report", "write_longitudinal", "read_call_vcf", "read_annotation", "wilson_interval",
           "DEFAULT_MIN_COV", "LOD_ARRAY"]
