"""HGVS annotation of the bypass genes EGFR, KRAS, BRAF, MAP2K1, PIK3CA, MET, NRAS and IDH2.

Expected values were derived outside deepamp: coding and UTR vectors by translating the CDS built
from each gene's GRCh38 sequence and exon table (c. ranges of the MANE / LRG records), indel
vectors with their VCF left-aligned form worked out by hand, and the clinical alleles from their
published coordinates (EGFR L858R chr7:55191822 T>G, T790M chr7:55181378 C>T, exon 19
c.2235_2249del / c.2236_2250del, KRAS G12C chr12:25245351 C>A, BRAF V600E chr7:140753336 A>T,
PIK3CA H1047R chr3:179234297 A>G and E545K chr3:179218303 G>A, IDH2 R140Q chr15:90088702 C>T,
MET exon 14 splice sites chr7:116771847 (c.2888-2) and chr7:116771990 (c.3028+1)).  GRCh37
positions are GRCh38 plus the per-gene offset of the LRG / RefSeqGene mappings.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from deepamp.annotate.hgvs import Variant, annotate
from deepamp.annotate.transcripts import TranscriptSet

CHROM = {"EGFR": "chr7", "KRAS": "chr12", "BRAF": "chr7", "MAP2K1": "chr15", "PIK3CA": "chr3",
         "MET": "chr7", "NRAS": "chr1", "IDH2": "chr15"}
HG19_OFFSET = {"EGFR": 67693, "KRAS": 152934, "BRAF": -300200, "MAP2K1": 292338, "PIK3CA": -282212,
               "MET": -359946, "NRAS": 542621, "IDH2": 543232}
MANE = {"EGFR": "NM_005228.5", "KRAS": "NM_004985.5", "BRAF": "NM_004333.6", "MAP2K1": "NM_002755.4",
        "PIK3CA": "NM_006218.4", "MET": "NM_000245.4", "NRAS": "NM_002524.5", "IDH2": "NM_002168.4"}

# gene, class, GRCh38 pos, REF, ALT (VCF, plus strand), exon, intron, HGVS c., p. (3-letter), p. (1-letter), consequence
VECTORS = [
    ('EGFR', 'nonsense', 55019353, 'G', 'T', 1, None, 'NM_005228.5:c.76G>T', 'p.Glu26Ter', 'p.E26*', 'stop_gained'),
    ('EGFR', 'synonymous', 55142296, 'C', 'A', 2, None, 'NM_005228.5:c.99C>A', 'p.Gly33=', 'p.G33=', 'synonymous_variant'),
    ('EGFR', 'inframe_deletion', 55142313, 'CGCA', 'C', 2, None, 'NM_005228.5:c.118_120del', 'p.Gln40del', 'p.Q40del', 'inframe_deletion'),
    ('EGFR', 'inframe_insertion_dup', 55142377, 'G', 'GGTC', 2, None, 'NM_005228.5:c.181_183dup', 'p.Val61dup', 'p.V61dup', 'inframe_insertion'),
    ('EGFR', 'inframe_insertion', 55143330, 'T', 'TCGG', 3, None, 'NM_005228.5:c.267_268insGGC', 'p.Val89_Leu90insGly', 'p.V89_L90insG', 'inframe_insertion'),
    ('EGFR', 'delins', 55143362, 'CC', 'GG', 3, None, 'NM_005228.5:c.298_299delinsGG', 'p.Pro100Gly', 'p.P100G', 'missense_variant'),
    ('EGFR', 'frameshift', 55143422, 'GC', 'G', 3, None, 'NM_005228.5:c.359del', 'p.Ala120GlufsTer13', 'p.A120Efs*13', 'frameshift_variant'),
    ('EGFR', 'splice_donor', 55165438, 'G', 'A', None, 15, 'NM_005228.5:c.1880+1G>A', 'p.?', 'p.?', 'splice_donor_variant'),
    ('EGFR', 'splice_acceptor', 55165278, 'A', 'G', None, 14, 'NM_005228.5:c.1723-2A>G', 'p.?', 'p.?', 'splice_acceptor_variant'),
    ('EGFR', 'intron', 55165457, 'G', 'A', None, 15, 'NM_005228.5:c.1880+20G>A', None, None, 'intron_variant'),
    ('EGFR', 'utr5', 55019273, 'C', 'A', 1, None, 'NM_005228.5:c.-5C>A', None, None, '5_prime_UTR_variant'),
    ('EGFR', 'utr3', 55205627, 'A', 'C', 28, None, 'NM_005228.5:c.*10A>C', None, None, '3_prime_UTR_variant'),
    ('EGFR', 'missense', 55191822, 'T', 'G', 21, None, 'NM_005228.5:c.2573T>G', 'p.Leu858Arg', 'p.L858R', 'missense_variant'),
    ('EGFR', 'missense', 55181378, 'C', 'T', 20, None, 'NM_005228.5:c.2369C>T', 'p.Thr790Met', 'p.T790M', 'missense_variant'),
    ('EGFR', 'synonymous', 55181370, 'G', 'A', 20, None, 'NM_005228.5:c.2361G>A', 'p.Gln787=', 'p.Q787=', 'synonymous_variant'),
    ('EGFR', 'inframe_deletion', 55174771, 'AGGAATTAAGAGAAGC', 'A', 19, None, 'NM_005228.5:c.2235_2249del', 'p.Glu746_Ala750del', 'p.E746_A750del', 'inframe_deletion'),
    ('EGFR', 'inframe_deletion', 55174772, 'GGAATTAAGAGAAGCA', 'G', 19, None, 'NM_005228.5:c.2236_2250del', 'p.Glu746_Ala750del', 'p.E746_A750del', 'inframe_deletion'),
    ('EGFR', 'delins', 55174776, 'TTAAGAGAAGCAACATCTC', 'T', 19, None, 'NM_005228.5:c.2240_2257del', 'p.Leu747_Pro753delinsSer', 'p.L747_P753delinsS', 'inframe_deletion'),
    ('EGFR', 'intron_deletion', 55142527, 'AT', 'A', None, 2, 'NM_005228.5:c.240+95del', None, None, 'intron_variant'),
    ('KRAS', 'nonsense', 25245321, 'G', 'A', 2, None, 'NM_004985.5:c.64C>T', 'p.Gln22Ter', 'p.Q22*', 'stop_gained'),
    ('KRAS', 'synonymous', 25245283, 'T', 'G', 2, None, 'NM_004985.5:c.102A>C', 'p.Pro34=', 'p.P34=', 'synonymous_variant'),
    ('KRAS', 'inframe_deletion', 25227403, 'TGTA', 'T', 3, None, 'NM_004985.5:c.118_120del', 'p.Tyr40del', 'p.Y40del', 'inframe_deletion'),
    ('KRAS', 'inframe_insertion_dup', 25227343, 'G', 'GACC', 3, None, 'NM_004985.5:c.178_180dup', 'p.Gly60dup', 'p.G60dup', 'inframe_insertion'),
    ('KRAS', 'inframe_insertion', 25227280, 'A', 'AGCC', 3, None, 'NM_004985.5:c.243_244insGGC', 'p.Val81_Phe82insGly', 'p.V81_F82insG', 'inframe_insertion'),
    ('KRAS', 'delins', 25225765, 'AT', 'TA', 4, None, 'NM_004985.5:c.298_299delinsTA', 'p.Ile100Tyr', 'p.I100Y', 'missense_variant'),
    ('KRAS', 'frameshift', 25225698, 'AG', 'A', 4, None, 'NM_004985.5:c.365del', 'p.Ser122LeufsTer4', 'p.S122Lfs*4', 'frameshift_variant'),
    ('KRAS', 'splice_donor', 25225613, 'C', 'A', None, 4, 'NM_004985.5:c.450+1G>T', 'p.?', 'p.?', 'splice_donor_variant'),
    ('KRAS', 'splice_acceptor', 25225775, 'T', 'G', None, 3, 'NM_004985.5:c.291-2A>C', 'p.?', 'p.?', 'splice_acceptor_variant'),
    ('KRAS', 'intron', 25225594, 'T', 'A', None, 4, 'NM_004985.5:c.450+20A>T', None, None, 'intron_variant'),
    ('KRAS', 'utr5', 25245389, 'A', 'C', 2, None, 'NM_004985.5:c.-5T>G', None, None, '5_prime_UTR_variant'),
    ('KRAS', 'utr3', 25209785, 'C', 'A', 5, None, 'NM_004985.5:c.*10G>T', None, None, '3_prime_UTR_variant'),
    ('KRAS', 'missense', 25245351, 'C', 'A', 2, None, 'NM_004985.5:c.34G>T', 'p.Gly12Cys', 'p.G12C', 'missense_variant'),
    ('KRAS', 'missense', 25245350, 'C', 'T', 2, None, 'NM_004985.5:c.35G>A', 'p.Gly12Asp', 'p.G12D', 'missense_variant'),
    ('KRAS', 'missense', 25245347, 'C', 'T', 2, None, 'NM_004985.5:c.38G>A', 'p.Gly13Asp', 'p.G13D', 'missense_variant'),
    ('KRAS', 'stop_lost', 25209795, 'T', 'G', 5, None, 'NM_004985.5:c.567A>C', 'p.Ter189TyrextTer8', 'p.*189Yext*8', 'stop_lost'),
    ('BRAF', 'nonsense', 140924634, 'C', 'A', 1, None, 'NM_004333.6:c.70G>T', 'p.Glu24Ter', 'p.E24*', 'stop_gained'),
    ('BRAF', 'synonymous', 140924614, 'G', 'T', 1, None, 'NM_004333.6:c.90C>A', 'p.Gly30=', 'p.G30=', 'synonymous_variant'),
    ('BRAF', 'inframe_deletion', 140924583, 'GGTC', 'G', 1, None, 'NM_004333.6:c.118_120del', 'p.Asp40del', 'p.D40del', 'inframe_deletion'),
    ('BRAF', 'inframe_insertion_dup', 140850170, 'T', 'TATG', 2, None, 'NM_004333.6:c.178_180dup', 'p.His60dup', 'p.H60dup', 'inframe_insertion'),
    ('BRAF', 'inframe_insertion', 140834860, 'A', 'AGCC', 3, None, 'NM_004333.6:c.252_253insGGC', 'p.Glu84_Tyr85insGly', 'p.E84_Y85insG', 'inframe_insertion'),
    ('BRAF', 'delins', 140834814, 'AA', 'TT', 3, None, 'NM_004333.6:c.298_299delinsAA', 'p.Leu100Lys', 'p.L100K', 'missense_variant'),
    ('BRAF', 'frameshift', 140834750, 'TG', 'T', 3, None, 'NM_004333.6:c.362del', 'p.Thr121AsnfsTer61', 'p.T121Nfs*61', 'frameshift_variant'),
    ('BRAF', 'splice_donor', 140783020, 'C', 'A', None, 10, 'NM_004333.6:c.1314+1G>T', 'p.?', 'p.?', 'splice_donor_variant'),
    ('BRAF', 'splice_acceptor', 140783159, 'T', 'G', None, 9, 'NM_004333.6:c.1178-2A>C', 'p.?', 'p.?', 'splice_acceptor_variant'),
    ('BRAF', 'intron', 140783001, 'A', 'C', None, 10, 'NM_004333.6:c.1314+20T>G', None, None, 'intron_variant'),
    ('BRAF', 'utr5', 140924708, 'T', 'A', 1, None, 'NM_004333.6:c.-5A>T', None, None, '5_prime_UTR_variant'),
    ('BRAF', 'utr3', 140734587, 'C', 'A', 18, None, 'NM_004333.6:c.*10G>T', None, None, '3_prime_UTR_variant'),
    ('BRAF', 'missense', 140753336, 'A', 'T', 15, None, 'NM_004333.6:c.1799T>A', 'p.Val600Glu', 'p.V600E', 'missense_variant'),
    ('BRAF', 'missense', 140781611, 'C', 'A', 11, None, 'NM_004333.6:c.1397G>T', 'p.Gly466Val', 'p.G466V', 'missense_variant'),
    ('MAP2K1', 'nonsense', 66435035, 'T', 'A', 2, None, 'NM_002755.4:c.89T>A', 'p.Leu30Ter', 'p.L30*', 'stop_gained'),
    ('MAP2K1', 'synonymous', 66435042, 'C', 'A', 2, None, 'NM_002755.4:c.96C>A', 'p.Ala32=', 'p.A32=', 'synonymous_variant'),
    ('MAP2K1', 'inframe_deletion', 66435063, 'GCTA', 'G', 2, None, 'NM_002755.4:c.118_120del', 'p.Leu40del', 'p.L40del', 'inframe_deletion'),
    ('MAP2K1', 'inframe_insertion_dup', 66435128, 'G', 'GAGA', 2, None, 'NM_002755.4:c.184_186dup', 'p.Glu62dup', 'p.E62dup', 'inframe_insertion'),
    ('MAP2K1', 'inframe_insertion', 66435192, 'G', 'GGGC', 2, None, 'NM_002755.4:c.246_247insGGC', 'p.Val82_Phe83insGly', 'p.V82_F83insG', 'inframe_insertion'),
    ('MAP2K1', 'delins', 66436752, 'CA', 'GT', 3, None, 'NM_002755.4:c.298_299delinsGT', 'p.His100Val', 'p.H100V', 'missense_variant'),
    ('MAP2K1', 'frameshift', 66436812, 'GA', 'G', 3, None, 'NM_002755.4:c.359del', 'p.Glu120GlyfsTer36', 'p.E120Gfs*36', 'frameshift_variant'),
    ('MAP2K1', 'splice_donor', 66481880, 'G', 'A', None, 6, 'NM_002755.4:c.693+1G>A', 'p.?', 'p.?', 'splice_donor_variant'),
    ('MAP2K1', 'splice_acceptor', 66481753, 'A', 'G', None, 5, 'NM_002755.4:c.569-2A>G', 'p.?', 'p.?', 'splice_acceptor_variant'),
    ('MAP2K1', 'intron', 66481899, 'T', 'A', None, 6, 'NM_002755.4:c.693+20T>A', None, None, 'intron_variant'),
    ('MAP2K1', 'utr5', 66387343, 'C', 'A', 1, None, 'NM_002755.4:c.-5C>A', None, None, '5_prime_UTR_variant'),
    ('MAP2K1', 'utr3', 66490625, 'A', 'C', 11, None, 'NM_002755.4:c.*10A>C', None, None, '3_prime_UTR_variant'),
    ('MAP2K1', 'missense', 66436839, 'T', 'C', 3, None, 'NM_002755.4:c.385T>C', 'p.Phe129Leu', 'p.F129L', 'missense_variant'),
    ('MAP2K1', 'missense', 66436841, 'C', 'A', 3, None, 'NM_002755.4:c.387C>A', 'p.Phe129Leu', 'p.F129L', 'missense_variant'),
    ('PIK3CA', 'nonsense', 179198892, 'G', 'T', 2, None, 'NM_006218.4:c.67G>T', 'p.Glu23Ter', 'p.E23*', 'stop_gained'),
    ('PIK3CA', 'synonymous', 179198921, 'G', 'A', 2, None, 'NM_006218.4:c.96G>A', 'p.Val32=', 'p.V32=', 'synonymous_variant'),
    ('PIK3CA', 'inframe_deletion', 179198942, 'GGCT', 'G', 2, None, 'NM_006218.4:c.118_120del', 'p.Ala40del', 'p.A40del', 'inframe_deletion'),
    ('PIK3CA', 'inframe_insertion_dup', 179199011, 'T', 'TCAA', 2, None, 'NM_006218.4:c.187_189dup', 'p.Gln63dup', 'p.Q63dup', 'inframe_insertion'),
    ('PIK3CA', 'inframe_insertion', 179199068, 'A', 'AGGC', 2, None, 'NM_006218.4:c.243_244insGGC', 'p.Glu81_Phe82insGly', 'p.E81_F82insG', 'inframe_insertion'),
    ('PIK3CA', 'delins', 179199123, 'AA', 'TT', 2, None, 'NM_006218.4:c.298_299delinsTT', 'p.Lys100Leu', 'p.K100L', 'missense_variant'),
    ('PIK3CA', 'frameshift', 179199695, 'GC', 'G', 3, None, 'NM_006218.4:c.359del', 'p.Ala120ValfsTer25', 'p.A120Vfs*25', 'frameshift_variant'),
    ('PIK3CA', 'splice_donor', 179219736, 'G', 'A', None, 12, 'NM_006218.4:c.1911+1G>A', 'p.?', 'p.?', 'splice_donor_variant'),
    ('PIK3CA', 'splice_acceptor', 179219569, 'A', 'G', None, 11, 'NM_006218.4:c.1747-2A>G', 'p.?', 'p.?', 'splice_acceptor_variant'),
    ('PIK3CA', 'intron', 179219755, 'T', 'A', None, 12, 'NM_006218.4:c.1911+20T>A', None, None, 'intron_variant'),
    ('PIK3CA', 'utr5', 179198821, 'G', 'A', 2, None, 'NM_006218.4:c.-5G>A', None, None, '5_prime_UTR_variant'),
    ('PIK3CA', 'utr3', 179234374, 'T', 'A', 21, None, 'NM_006218.4:c.*10T>A', None, None, '3_prime_UTR_variant'),
    ('PIK3CA', 'missense', 179234297, 'A', 'G', 21, None, 'NM_006218.4:c.3140A>G', 'p.His1047Arg', 'p.H1047R', 'missense_variant'),
    ('PIK3CA', 'missense', 179218303, 'G', 'A', 10, None, 'NM_006218.4:c.1633G>A', 'p.Glu545Lys', 'p.E545K', 'missense_variant'),
    ('PIK3CA', 'missense', 179218294, 'G', 'A', 10, None, 'NM_006218.4:c.1624G>A', 'p.Glu542Lys', 'p.E542K', 'missense_variant'),
    ('MET', 'nonsense', 116699142, 'C', 'T', 2, None, 'NM_000245.4:c.58C>T', 'p.Gln20Ter', 'p.Q20*', 'stop_gained'),
    ('MET', 'synonymous', 116699174, 'A', 'C', 2, None, 'NM_000245.4:c.90A>C', 'p.Leu30=', 'p.L30=', 'synonymous_variant'),
    ('MET', 'inframe_deletion', 116699200, 'TGAA', 'T', 2, None, 'NM_000245.4:c.118_120del', 'p.Lys40del', 'p.K40del', 'inframe_deletion'),
    ('MET', 'inframe_insertion_dup', 116699264, 'T', 'TCAC', 2, None, 'NM_000245.4:c.181_183dup', 'p.His61dup', 'p.H61dup', 'inframe_insertion'),
    ('MET', 'inframe_insertion', 116699333, 'G', 'GGGC', 2, None, 'NM_000245.4:c.249_250insGGC', 'p.Glu83_Tyr84insGly', 'p.E83_Y84insG', 'inframe_insertion'),
    ('MET', 'delins', 116699382, 'GA', 'CT', 2, None, 'NM_000245.4:c.298_299delinsCT', 'p.Asp100Leu', 'p.D100L', 'missense_variant'),
    ('MET', 'frameshift', 116699442, 'CT', 'C', 2, None, 'NM_000245.4:c.359del', 'p.Leu120GlnfsTer47', 'p.L120Qfs*47', 'frameshift_variant'),
    ('MET', 'splice_donor', 116771990, 'G', 'A', None, 14, 'NM_000245.4:c.3028+1G>A', 'p.?', 'p.?', 'splice_donor_variant'),
    ('MET', 'splice_acceptor', 116771847, 'A', 'G', None, 13, 'NM_000245.4:c.2888-2A>G', 'p.?', 'p.?', 'splice_acceptor_variant'),
    ('MET', 'intron', 116772009, 'T', 'A', None, 14, 'NM_000245.4:c.3028+20T>A', None, None, 'intron_variant'),
    ('MET', 'utr5', 116699080, 'T', 'A', 2, None, 'NM_000245.4:c.-5T>A', None, None, '5_prime_UTR_variant'),
    ('MET', 'utr3', 116796134, 'T', 'A', 21, None, 'NM_000245.4:c.*10T>A', None, None, '3_prime_UTR_variant'),
    ('MET', 'missense', 116783353, 'G', 'A', 19, None, 'NM_000245.4:c.3682G>A', 'p.Asp1228Asn', 'p.D1228N', 'missense_variant'),
    ('MET', 'missense', 116783359, 'T', 'C', 19, None, 'NM_000245.4:c.3688T>C', 'p.Tyr1230His', 'p.Y1230H', 'missense_variant'),
    ('MET', 'splice_donor_deletion', 116771984, 'CAGAAGGTATA', 'C', 14, None, 'NM_000245.4:c.3024_3028+5del', 'p.?', 'p.?', 'splice_donor_variant'),
    ('NRAS', 'nonsense', 114716097, 'G', 'A', 2, None, 'NM_002524.5:c.64C>T', 'p.Gln22Ter', 'p.Q22*', 'stop_gained'),
    ('NRAS', 'synonymous', 114716059, 'G', 'T', 2, None, 'NM_002524.5:c.102C>A', 'p.Pro34=', 'p.P34=', 'synonymous_variant'),
    ('NRAS', 'inframe_deletion', 114713969, 'TGTA', 'T', 3, None, 'NM_002524.5:c.118_120del', 'p.Tyr40del', 'p.Y40del', 'inframe_deletion'),
    ('NRAS', 'inframe_insertion_dup', 114713909, 'G', 'GTCC', 3, None, 'NM_002524.5:c.178_180dup', 'p.Gly60dup', 'p.G60dup', 'inframe_insertion'),
    ('NRAS', 'inframe_insertion', 114713846, 'A', 'AGCC', 3, None, 'NM_002524.5:c.243_244insGGC', 'p.Val81_Phe82insGly', 'p.V81_F82insG', 'inframe_insertion'),
    ('NRAS', 'delins', 114709720, 'AT', 'TA', 4, None, 'NM_002524.5:c.298_299delinsTA', 'p.Ile100Tyr', 'p.I100Y', 'missense_variant'),
    ('NRAS', 'frameshift', 114709653, 'TG', 'T', 4, None, 'NM_002524.5:c.365del', 'p.Thr122LysfsTer39', 'p.T122Kfs*39', 'frameshift_variant'),
    ('NRAS', 'splice_donor', 114709568, 'C', 'A', None, 4, 'NM_002524.5:c.450+1G>T', 'p.?', 'p.?', 'splice_donor_variant'),
    ('NRAS', 'splice_acceptor', 114709730, 'T', 'G', None, 3, 'NM_002524.5:c.291-2A>C', 'p.?', 'p.?', 'splice_acceptor_variant'),
    ('NRAS', 'intron', 114709549, 'T', 'A', None, 4, 'NM_002524.5:c.450+20A>T', None, None, 'intron_variant'),
    ('NRAS', 'utr5', 114716165, 'C', 'A', 2, None, 'NM_002524.5:c.-5G>T', None, None, '5_prime_UTR_variant'),
    ('NRAS', 'utr3', 114708187, 'A', 'C', 6, None, 'NM_002524.5:c.*10T>G', None, None, '3_prime_UTR_variant'),
    ('NRAS', 'missense', 114713909, 'G', 'T', 3, None, 'NM_002524.5:c.181C>A', 'p.Gln61Lys', 'p.Q61K', 'missense_variant'),
    ('NRAS', 'missense', 114713908, 'T', 'C', 3, None, 'NM_002524.5:c.182A>G', 'p.Gln61Arg', 'p.Q61R', 'missense_variant'),
    ('NRAS', 'start_lost', 114716160, 'T', 'C', 2, None, 'NM_002524.5:c.1A>G', 'p.Met1?', 'p.M1?', 'start_lost'),
    ('IDH2', 'nonsense', 90102329, 'C', 'T', 1, None, 'NM_002168.4:c.62G>A', 'p.Trp21Ter', 'p.W21*', 'stop_gained'),
    ('IDH2', 'synonymous', 90102301, 'G', 'T', 1, None, 'NM_002168.4:c.90C>A', 'p.Thr30=', 'p.T30=', 'synonymous_variant'),
    ('IDH2', 'inframe_deletion', 90091636, 'TGTC', 'T', 3, None, 'NM_002168.4:c.121_123del', 'p.Asp41del', 'p.D41del', 'inframe_deletion'),
    ('IDH2', 'inframe_insertion_dup', 90091579, 'T', 'TACG', 3, None, 'NM_002168.4:c.178_180dup', 'p.Arg60dup', 'p.R60dup', 'inframe_insertion'),
    ('IDH2', 'inframe_insertion', 90090611, 'A', 'AGCC', 4, None, 'NM_002168.4:c.240_241insGGC', 'p.Lys80_Tyr81insGly', 'p.K80_Y81insG', 'inframe_insertion'),
    ('IDH2', 'delins', 90090550, 'GC', 'CG', 4, None, 'NM_002168.4:c.301_302delinsCG', 'p.Ala101Arg', 'p.A101R', 'missense_variant'),
    ('IDH2', 'frameshift', 90090492, 'CT', 'C', 4, None, 'NM_002168.4:c.359del', 'p.Glu120GlyfsTer9', 'p.E120Gfs*9', 'frameshift_variant'),
    ('IDH2', 'splice_donor', 90087438, 'C', 'A', None, 7, 'NM_002168.4:c.815+1G>T', 'p.?', 'p.?', 'splice_donor_variant'),
    ('IDH2', 'splice_acceptor', 90087577, 'T', 'G', None, 6, 'NM_002168.4:c.679-2A>C', 'p.?', 'p.?', 'splice_acceptor_variant'),
    ('IDH2', 'intron', 90087419, 'G', 'A', None, 7, 'NM_002168.4:c.815+20C>T', None, None, 'intron_variant'),
    ('IDH2', 'utr5', 90102395, 'A', 'C', 1, None, 'NM_002168.4:c.-5T>G', None, None, '5_prime_UTR_variant'),
    ('IDH2', 'utr3', 90084256, 'G', 'A', 12, None, 'NM_002168.4:c.*10C>T', None, None, '3_prime_UTR_variant'),
    ('IDH2', 'missense', 90088702, 'C', 'T', 5, None, 'NM_002168.4:c.419G>A', 'p.Arg140Gln', 'p.R140Q', 'missense_variant'),
    ('IDH2', 'missense', 90088606, 'C', 'T', 5, None, 'NM_002168.4:c.515G>A', 'p.Arg172Lys', 'p.R172K', 'missense_variant'),
]


@pytest.fixture(scope="module")
def builds():
    return {"hg38": TranscriptSet.default("hg38"), "hg19": TranscriptSet.default("hg19")}


@pytest.fixture(scope="module")
def shipped_pieces():
    """The shipped bypass-gene FASTA, parsed here independently of the annotator."""
    text = resources.files("deepamp.annotate.data").joinpath("bypass_grch38_exon_flanks.fa").read_text()
    pieces, name = {}, None
    for line in text.splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            pieces[name] = []
        else:
            pieces[name].append(line.strip())
    out = []
    for name, lines in pieces.items():
        contig, rng = name.split(":")
        start = int(rng.split("-")[0])
        out.append((contig, start, "".join(lines)))

    def fetch(contig, pos, n):
        for c, start, seq in out:
            if c == contig and start <= pos and pos + n - 1 < start + len(seq):
                return seq[pos - start:pos - start + n]
        return None
    return fetch


def test_every_gene_and_class_has_a_vector():
    classes = {}
    for row in VECTORS:
        classes.setdefault(row[0], set()).add(row[1])
    assert set(classes) == set(CHROM)
    wanted = {"missense", "nonsense", "synonymous", "inframe_deletion", "inframe_insertion",
              "inframe_insertion_dup", "delins", "frameshift", "splice_donor", "splice_acceptor", "intron",
              "utr5", "utr3"}
    for gene, got in classes.items():
        assert wanted <= got, (gene, wanted - got)


@pytest.mark.parametrize("row", VECTORS, ids=lambda r: f"{r[0]}-{r[1]}-{r[2]}")
def test_vcf_ref_is_the_grch38_reference(row, shipped_pieces):
    gene, _, pos, ref = row[:4]
    assert shipped_pieces(CHROM[gene], pos, len(ref)) == ref


@pytest.mark.parametrize("genome", ["hg38", "hg19"])
def test_vectors(builds, genome):
    ts = builds[genome]
    variants = [Variant(CHROM[r[0]], r[2] + (HG19_OFFSET[r[0]] if genome == "hg19" else 0), r[3], r[4])
                for r in VECTORS]
    for row, a in zip(VECTORS, annotate(variants, ts)):
        gene, cls, _, _, _, exon, intron, hgvsc, p3, p1, csq = row
        got = (a.gene, a.transcript, a.exon, a.intron, a.hgvsc, a.hgvsp, a.hgvsp1, a.consequence)
        assert got == (gene, MANE[gene], exon, intron, hgvsc, p3, p1, csq), (genome, cls, row)
        assert a.warnings == [], (genome, row)


def test_translation_check_covers_every_bypass_gene(builds):
    for genome, ts in builds.items():
        for gene in CHROM:
            tx = ts.by_gene(gene)
            assert len(tx.cds) == tx.cds_length, (genome, gene)  # the whole CDS comes from the pieces
            assert tx.check_translation("test") == len(tx.protein) + 1  # every codon incl. the stop
    kras, nras = builds["hg38"].by_gene("KRAS"), builds["hg38"].by_gene("NRAS")
    assert (kras.codon(12), kras.aa(12), kras.aa(61), len(kras.protein)) == ("GGT", "G", "Q", 188)  # KRAS4B
    assert (nras.codon(61), nras.aa(61)) == ("CAA", "Q")


def test_a_wrong_base_in_the_reference_fails_loading(tmp_path):
    import json

    from deepamp.errors import FormatError
    doc = json.loads(resources.files("deepamp.annotate.data").joinpath("transcripts.json").read_text())
    egfr = next(t for t in doc["transcripts"] if t["gene"] == "EGFR")
    text = resources.files("deepamp.annotate.data").joinpath("bypass_grch38_exon_flanks.fa").read_text()
    head = ">chr7:55191519-55192074"  # the piece holding EGFR exon 21
    i = text.index(head)
    body = text[i:].split(">", 2)[1]
    seq = "".join(body.splitlines()[1:])
    assert seq[55191822 - 55191519] == "T"  # c.2573 (L858 CTG)
    mutated = seq[:55191822 - 55191519] + "G" + seq[55191822 - 55191519 + 1:]
    (tmp_path / "egfr.fa").write_text(f"{head}\n{mutated}\n")
    egfr = dict(egfr, gene="EGFR_COPY", cds_sequence=[{"type": "genomic_fasta", "file": "egfr.fa"}],
                protein_fasta=dict(egfr["protein_fasta"], package="deepamp.annotate.data"))
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"transcripts": [egfr]}))
    with pytest.raises(FormatError, match="codon 858 .* translates to R, protein has L"):
        TranscriptSet.default("hg38", extra)


def test_grch37_differences_are_outside_the_shipped_pieces(shipped_pieces):
    # the only GRCh37/GRCh38 base differences that the LRG mappings list inside these genes
    assert shipped_pieces("chr7", 55041139, 1) is None   # EGFR intron 1
    assert shipped_pieces("chr12", 25215528, 1) is None  # KRAS intron 4


SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data-sources" / "bypass"


@pytest.mark.skipif(not SOURCE.is_dir(), reason=f"source slices not available at {SOURCE}")
def test_shipped_pieces_equal_the_source_slices(shipped_pieces):
    text = resources.files("deepamp.annotate.data").joinpath("bypass_grch38_exon_flanks.fa").read_text()
    names = [l[1:].split()[0] for l in text.splitlines() if l.startswith(">")]
    slices = {}
    for f in SOURCE.glob("*_GRCh38_chr*.fa"):
        lines = f.read_text().splitlines()
        contig, rng = lines[0][1:].split()[0].split(":")
        slices.setdefault(contig, []).append((int(rng.split("-")[0]), "".join(lines[1:]).upper()))
    assert len(names) > 100
    for name in names:
        contig, rng = name.split(":")
        start, end = (int(x) for x in rng.split("-"))
        src = next(s for s0, s in slices[contig] if s0 <= start and end < s0 + len(s)
                   for s in [s[start - s0:end - s0 + 1]])
        assert shipped_pieces(contig, start, end - start + 1) == src, name


def test_three_prime_shift_stops_where_no_reference_is_shipped(builds):
    # a 1-bp deletion deep in EGFR intron 1 (no piece there): named where the VCF puts it, with a note
    a = annotate([Variant("chr7", 55080000, "AT", "A")], builds["hg38"])[0]
    assert a.consequence == "intron_variant" and a.hgvsc.startswith("NM_005228.5:c.88+") and a.warnings == []
    assert any("3' shift stopped" in n for n in a.notes)


def test_utr_ends_from_an_older_refseq_version_are_noted(builds):
    utr3 = next(r for r in VECTORS if r[0] == "BRAF" and r[1] == "utr3")
    a = annotate([Variant("chr7", utr3[2], utr3[3], utr3[4])], builds["hg38"])[0]
    assert any("NM_004333.4" in n and "NM_004333.6" in n for n in a.notes)
    coding = annotate([Variant("chr7", 140753336, "A", "T")], builds["hg38"])[0]
    assert coding.notes == []
    egfr = annotate([Variant("chr7", 55019273, "C", "A")], builds["hg38"])[0]  # EGFR: exons are MANE's
    assert egfr.notes == []


@pytest.mark.parametrize("genome", ["hg38", "hg19"])
def test_met_exon14_splice_changes_are_named_as_skipping(builds, genome):
    from deepamp.annotate.bypass import annotation_name
    ts, off = builds[genome], HG19_OFFSET["MET"] if genome == "hg19" else 0
    cases = [(116771990, "G", "T", "MET:exon14skipping"),          # c.3028+1 (donor)
             (116771847, "A", "G", "MET:exon14skipping"),          # c.2888-2 (acceptor)
             (116771984, "CAGAAGGTATA", "C", "MET:exon14skipping"),  # c.3024_3028+5del over the donor
             (116772009, "T", "A", None),                          # c.3028+20: intronic, no event
             (116771497, "A", "G", None)]                          # acceptor side of exon 13 is not exon 14
    anns = annotate([Variant("chr7", p + off, r, a) for p, r, a, _ in cases], ts)
    assert [annotation_name(a, ts) for a in anns] == [c[3] for c in cases]


def test_egfr_exon19_deletions_by_residue():
    from deepamp.annotate.bypass import exon_event
    assert exon_event("EGFR:E746_A750del").name == "exon19del"
    assert exon_event("EGFR:L747_P753delinsS").name == "exon19del"
    assert exon_event("EGFR:E746_S752delinsV").name == "exon19del"
    assert exon_event("EGFR:G729_E734del").name == "exon19del"      # first codon of exon 19 (c.2185)
    assert exon_event("EGFR:D770_N771insG") is None                 # exon 20 insertion
    assert exon_event("EGFR:L747_A750delinsPGRS") is None           # no net loss of residues
    assert exon_event("EGFR:A767_V769del") is None                  # exon 20
    assert exon_event("EGFR:E884del") is None
