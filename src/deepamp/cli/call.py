"""``deepamp call``: the ``lofreq call`` drop-in, over :func:`deepamp.call`.

Flags are spelled as LoFreq spells them (``-f -l -r -q -Q -m -C -a -b -o``)
so that ``lofreq call`` command lines keep working.  LoFreq options that
change quality merging (``-B`` no BAQ, ``-A`` no IDAQ, ``-N`` no MQ merging)
are accepted: deepamp never applies BAQ, IDAQ or MQ merging, so they are
already in effect.  ``-d/--max-depth`` is accepted and ignored: deepamp has
no depth cap.
"""

from __future__ import annotations

import argparse
import logging

from deepamp.cli import common

log = logging.getLogger("deepamp")


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp call`` (LoFreq spellings)."""
    p.add_argument("bam", metavar="IN.bam", help="indexed, coordinate-sorted BAM or CRAM")
    common.add_panel(p)
    common.add_output(p, default="-", metavar="OUT.vcf",
                      help="output VCF; .vcf.gz is bgzipped and tabix-indexed (default: stdout)")
    p.add_argument("--lod-tsv", metavar="LOD.tsv", default=None,
                   help="also write each amplicon's limit of detection: the VAF a substitution is called at "
                        "with 80%% probability by this run's test at each tested site (median, 90th "
                        "percentile, worst site)")
    common.add_counting(p)
    common.add_calling(p)
    common.add_lofreq_compat(p)
    common.add_filters(p, for_call=True)
    common.add_quiet(p)


def run(args: argparse.Namespace) -> int:
    """``deepamp call``: count, test, correct, filter, write the VCF."""
    from deepamp.calling.call import call
    from deepamp.io.outputs import check_distinct, check_writable, staged

    common.require_regions(args)
    options = common.call_options(args)
    check_writable(args.out)
    if args.lod_tsv:
        check_writable(args.lod_tsv)
    check_distinct([args.out, args.out + ".tbi" if args.out.endswith(".gz") else None, args.lod_tsv],
                   [args.bam, args.ref, args.bed, args.background, args.matched_normal, *args.control])
    result = call(args.bam, reference=args.ref, bed=args.bed, regions=args.region or None,
                  background=args.background, control=args.control or None, matched_normal=args.matched_normal,
                  options=options, threads=args.threads, mate_memory=args.mate_memory)
    if args.lod_tsv:
        limits = result.detection_limits()
        with staged(args.lod_tsv) as (tmp,):     # committed only once the VCF is written
            limits.write_tsv(tmp)
            result.write_vcf(args.out, command=common.command_line(args))
    else:
        result.write_vcf(args.out, command=common.command_line(args))
    for line in result.summary_lines():
        log.info(line)
    return 0
