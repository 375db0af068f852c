"""``deepamp report``: a self-contained HTML report of one sample, or of one patient over time
(:mod:`deepamp.report`).

One sample::

    deepamp report SAMPLE.vcf --annotation SAMPLE.json [--counts SAMPLE.npz [--bed AMPLICONS.bed]]
                   [--background BG.npz] [-C 5000] -o SAMPLE.html

One patient, VCFs in time order::

    deepamp report T0.vcf T1.vcf T2.vcf --patient P [--labels T0,T1,T2 | 2024-01-10,...]
                   [--annotation T0.json --annotation T1.json --annotation T2.json] -o P.html
"""

from __future__ import annotations

import argparse

from deepamp.cli import common


def _name(text: str) -> str:
    """A patient name: printable text that is not empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the name is empty")
    if not text.isprintable():
        raise argparse.ArgumentTypeError(f"{text!r} has characters that cannot be shown on one line")
    return text


def _labels(text: str) -> list[str]:
    """Comma-separated time-point labels (or dates YYYY-MM-DD), none empty, too long or repeated."""
    from deepamp.report.longitudinal import MAX_LABEL

    labels = [x.strip() for x in text.split(",")]
    if any(not x for x in labels):
        raise argparse.ArgumentTypeError(f"{text!r} has an empty label")
    if any(len(x) > MAX_LABEL for x in labels):
        raise argparse.ArgumentTypeError(f"a label is longer than {MAX_LABEL} characters")
    if not all(x.isprintable() for x in labels):
        raise argparse.ArgumentTypeError(f"{text!r} has characters that cannot be shown on one line")
    dup = next((x for x in labels if labels.count(x) > 1), None)
    if dup is not None:
        raise argparse.ArgumentTypeError(f"{dup!r} is given twice")
    return labels


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp report``."""
    p.add_argument("vcfs", nargs="*", metavar="IN.vcf",
                   help="VCF from `deepamp call` (after `phase` / `concordance` too); several VCFs of one "
                        "patient in time order with --patient")
    p.add_argument("--vcf", action="append", default=[], dest="vcf_opt", metavar="IN.vcf",
                   help="the VCF, as an option (same as the argument; repeatable)")
    p.add_argument("--annotation", action="append", default=[], metavar="JSON",
                   help="PREFIX.json from `deepamp annotate` of the VCF (required for one sample; with "
                        "--patient optional, one per VCF in the same order; repeatable)")
    g = p.add_argument_group("quality control (one sample)")
    g.add_argument("--counts", metavar="SAMPLE.npz",
                   help="count table of the same BAM (`deepamp count -o SAMPLE.npz`): depth along every amplicon")
    g.add_argument("-l", "--bed", metavar="AMPLICONS.bed",
                   help="the amplicons (BED, names in column 4) (default: the count table's regions)")
    g.add_argument("-C", "--min-cov", type=common.NON_NEGATIVE, default=5000, metavar="INT",
                   help="minimum coverage per position (default 5000, as Villa et al. 2024)")
    g.add_argument("--background", metavar="BG.npz",
                   help="background from `deepamp background`: per-site error rates of the controls")
    g = p.add_argument_group("one patient over time")
    g.add_argument("--patient", type=_name, metavar="NAME", help="patient name or identifier: several VCFs in "
                   "time order make one longitudinal page")
    g.add_argument("--labels", type=_labels, metavar="T0,T1,...",
                   help="one label per VCF, comma-separated (default T0, T1, ...); dates YYYY-MM-DD space the "
                        "time axis by days and must increase")
    common.add_output(p, metavar="report.html", help="HTML report to write ('-': standard output)")
    common.add_quiet(p)


def _check(args: argparse.Namespace) -> list[str]:
    """The VCFs, after the usage checks that argparse cannot make."""
    if args.vcfs and args.vcf_opt:
        raise common.UsageError("give the VCFs as arguments or with --vcf, not both")
    vcfs = list(args.vcfs or args.vcf_opt)
    if not vcfs:
        raise common.UsageError("give the VCF to report: deepamp report IN.vcf --annotation JSON (or --vcf IN.vcf)")
    if args.patient is None:
        if len(vcfs) > 1:
            raise common.UsageError(f"{len(vcfs)} VCFs make a longitudinal report: give --patient NAME")
        if args.labels is not None:
            raise common.UsageError("--labels needs --patient (a longitudinal report)")
        if len(args.annotation) != 1:
            raise common.UsageError("give the annotation of the VCF once: --annotation PREFIX.json "
                                    "(from deepamp annotate)")
        if args.bed is not None and args.counts is None and args.background is None:
            raise common.UsageError("--bed gives the amplicons of the count table: give --counts SAMPLE.npz too")
        return vcfs
    if len(vcfs) < 2:
        raise common.UsageError("--patient makes a longitudinal report: give two or more VCFs in time order")
    for flag, value in (("--counts", args.counts), ("--bed", args.bed), ("--background", args.background)):
        if value is not None:
            raise common.UsageError(f"{flag} applies to the report of one sample, not to a longitudinal one")
    if args.labels is not None and len(args.labels) != len(vcfs):
        raise common.UsageError(f"--labels: {len(args.labels)} labels for {len(vcfs)} VCFs")
    if args.annotation and len(args.annotation) != len(vcfs):
        raise common.UsageError(f"--annotation: {len(args.annotation)} given for {len(vcfs)} VCFs "
                                "(none, or one per VCF in the same order)")
    return vcfs


def run(args: argparse.Namespace) -> int:
    """``deepamp report``."""
    from deepamp.io.outputs import check_distinct, check_writable
    from deepamp.report import write_longitudinal, write_report

    vcfs = _check(args)
    check_writable(args.out)
    check_distinct([args.out], [*vcfs, *args.annotation, args.counts, args.bed, args.background])
    if args.patient is None:
        write_report(vcfs[0], args.annotation[0], args.out, counts=args.counts, bed=args.bed,
                     background=args.background, min_cov=args.min_cov)
    else:
        write_longitudinal(vcfs, args.out, patient=args.patient, labels=args.labels, annotations=args.annotation)
    return 0
