"""Variant annotation (HGVS), resistance knowledge base and inhibitor ranking.

Submodules: :mod:`.transcripts` (transcript models), :mod:`.hgvs` (variant
consequences and HGVS names), :mod:`.knowledge` (cited ALK-inhibitor
resistance knowledge base), :mod:`.ranking` (evidence-based inhibitor ranking,
decision support only) and :mod:`.cli` (``deepamp annotate``).
"""
