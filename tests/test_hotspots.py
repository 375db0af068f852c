"""Hotspot list (derived from the transcript model), user files, and the hotspot testing family."""
from __future__ import annotations

import numpy as np
import pytest

from deepamp.calling import hotspots as H
from deepamp.calling.snvs import call_snvs
from deepamp.counting.result import CountResult
from deepamp.errors import FormatError, InputFileError
from deepamp.options import CallOptions


def test_shipped_table_equals_derivation_and_known_alleles():
    shipped = H.load_hotspots()
    assert shipped == H.derive_table()
    keys = {(h.contig, h.pos, h.ref, h.alt): h.protein for h in shipped}
    # alleles named by the issue (GRCh38)
    assert keys[("chr2", 29220747, "C", "T")] == "G1202R"
    assert keys[("chr2", 29220765, "G", "T")] == "L1196M"
    assert keys[("chr2", 29209816, "C", "G")] == "G1269A"
    assert keys[("chr2", 29222392, "C", "T")] == "C1156Y"
    assert keys[("chr2", 29220829, "G", "T")] == keys[("chr2", 29220829, "G", "C")] == "F1174L"
    assert keys[("chr6", 117317184, "C", "T")] == "G2032R"
    assert all(h.citation for h in shipped)
    assert "villa2024" in next(h.citation for h in shipped if h.protein == "G1202R")


def test_user_file_and_errors(tmp_path):
    p = tmp_path / "h.tsv"
    p.write_text("contig\tpos\tref\talt\n2\t100\tc\tt\n")
    assert H.load_hotspots(p) == [H.Hotspot("2", 100, "C", "T")]
    p.write_text("contig\tpos\tref\talt\n2\tx\tC\tT\n")
    with pytest.raises(FormatError, match="h.tsv: line 2: bad position"):
        H.load_hotspots(p)
    p.write_text("chrom\tstart\n")
    with pytest.raises(FormatError, match="must start with columns"):
        H.load_hotspots(p)
    with pytest.raises(InputFileError, match="not found"):
        H.load_hotspots(tmp_path / "none.tsv")


def _counts(P=400, alt_row=10, alt_k=10):
    c = np.zeros((P, 7, 2), np.uint32)
    c[:, 1, :] = 5000                      # reference C everywhere, depth 10000
    c[:, 3, 0] = 1                          # one T error per site: every site is tested
    c[alt_row, 3, :] = alt_k
    qh = np.zeros((P, 64), np.uint32)
    qh[:, 30] = c[:, :5, :].sum(axis=(1, 2))
    return CountResult.from_arrays("chr2", np.arange(1000, 1000 + P), "C" * P, c, qual_hist=qh)


def test_hotspot_family_has_its_own_burden():
    counts = _counts()
    hs = [H.Hotspot("2", 1011, "C", "T")]           # row 10, "2" matches "chr2"
    mask = H.hotspot_mask(counts.contig, counts.pos, counts.ref, hs)
    assert mask.sum() == 1 and mask[10, 3]
    panel, m, _ = call_snvs(counts, CallOptions())
    hot, m2, m_hot = call_snvs(counts, CallOptions(), hotspots=hs)
    # 20 alt bases at Q30 on 10000 (p = 0.0035): significant alone (m = 1), not after 3 x 400 tests
    assert [v.pos for v in panel] == []
    assert [(v.pos, v.family) for v in hot] == [(1011, "hotspot")]
    assert m2 == m - 1 and m_hot == 1
    assert hot[0].info["FAMILY"] == "hotspot"
