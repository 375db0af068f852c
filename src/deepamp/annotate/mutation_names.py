"""Protein-change names as the knowledge base and the ranking spell them.

``normalize_mutation`` turns the many ways a protein change is written
('ALK:p.Gly1202Arg', 'p.G1202R', 'g1202r', 'EGFR:p.E746_A750del') into one
form: 1-letter residues without ``p.``; ALK changes bare ('G1202R'), other
genes prefixed ('EGFR:E746_A750del').  Exon-level events keep a lower-case
name ('EGFR:exon19del', 'MET:exon14skipping').
"""

from __future__ import annotations

import re

_ONE = {"Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
        "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
        "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*"}
_MUT_RE = re.compile(r"^[A-Z*]\d+(_[A-Z*]\d+)?([A-Z*]|del|dup|[A-Z]?fs(\*\d+)?|delins[A-Z*]+|ins[A-Z*]+"
                     r"|[A-Z]?ext(\*\d+|\*\?))$")
_EVENT_RE = re.compile(r"^exon\s*(\d+)\s*(del|deletion|skipping)$", re.IGNORECASE)


def normalize_mutation(text: str) -> str:
    """Canonical name of one protein change or exon-level event.

    Parameters
    ----------
    text : str
        E.g. 'ALK:p.Gly1202Arg', 'p.G1202R', 'g1202r', 'EGFR:p.E746_A750del',
        'EGFR exon19del', 'MET:exon 14 skipping'.

    Returns
    -------
    'G1202R' for ALK (with or without the gene), 'GENE:change' for other genes,
    e.g. 'EGFR:E746_A750del', 'EGFR:exon19del', 'MET:exon14skipping'.

    Raises
    ------
    ValueError
        The text is not a protein change or exon event this module understands.
    """
    t = text.strip()
    gene = ""
    m = re.match(r"^([A-Za-z0-9-]+)[:\s]+(.+)$", t)
    if m and not re.match(r"^[pP]\.", t) and not _EVENT_RE.match(t):
        gene, t = m.group(1).upper(), m.group(2).strip()
    event = _EVENT_RE.match(t)
    if event:
        kind = "skipping" if event.group(2).lower() == "skipping" else "del"
        t = f"exon{int(event.group(1))}{kind}"
    else:
        t = re.sub(r"^[pP]\.", "", t).strip("()")
        for three, one in _ONE.items():
            t = re.sub(three, one, t, flags=re.IGNORECASE) if len(t) > 4 else t
        t = t.upper().replace("DELINS", "delins").replace("DEL", "del").replace("DUP", "dup") \
            .replace("FS", "fs").replace("INS", "ins").replace("EXT", "ext")
        if not _MUT_RE.match(t):
            raise ValueError(f"cannot parse protein change {text!r}")
    return t if gene in ("", "ALK") else f"{gene}:{t}"


def split_gene(name: str) -> tuple[str, str]:
    """('EGFR', 'E746_A750del') for 'EGFR:E746_A750del'; ('ALK', 'G1202R') for a bare ALK name."""
    gene, sep, change = name.partition(":")
    return (gene, change) if sep else ("ALK", name)
