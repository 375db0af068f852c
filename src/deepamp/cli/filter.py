"""``deepamp filter``: the ``lofreq filter`` drop-in (LoFreq's flag spellings), over :mod:`deepamp.filters`."""

from __future__ import annotations

import argparse
import logging

from deepamp.cli import common

log = logging.getLogger("deepamp")


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp filter``."""
    p.add_argument("vcf", nargs="?", metavar="IN.vcf", help="deepamp or LoFreq VCF (plain, bgzip or gzip)")
    p.add_argument("-i", "--in", dest="vcf_in", metavar="IN.vcf", help="the input VCF (LoFreq's spelling)")
    common.add_output(p, default="-", metavar="OUT.vcf",
                      help="output VCF (.vcf.gz: bgzip + tabix; default stdout)")
    p.add_argument("--pass-only", action="store_true", help="write only PASS records (lofreq filter's default)")
    p.add_argument("--print-all", action="store_true",
                   help="accepted for LoFreq compatibility (deepamp keeps all records unless --pass-only)")
    common.add_filters(p)
    common.add_quiet(p)


def run(args: argparse.Namespace) -> int:
    """``deepamp filter``."""
    from deepamp.filters import filter_vcf
    from deepamp.io.outputs import check_distinct, check_writable

    if args.vcf and args.vcf_in and args.vcf != args.vcf_in:
        raise common.UsageError("give the input VCF once (positional or -i)")
    vcf_in = args.vcf_in or args.vcf
    if not vcf_in:
        raise common.UsageError("the input VCF is missing (-i IN.vcf)")
    options = common.filter_options(args)
    check_writable(args.out)
    check_distinct([args.out, args.out + ".tbi" if args.out.endswith(".gz") else None],
                   [vcf_in, options.population_vcf])
    n, n_pass = filter_vcf(vcf_in, args.out, options, pass_only=args.pass_only,
                           command=common.command_line(args))
    log.info(f"{n_pass} of {n} records PASS")
    return 0
