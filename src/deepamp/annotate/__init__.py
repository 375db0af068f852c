"""Variant annotation (HGVS), resistance knowledge base and inhibitor ranking.

Submodules: :mod:`.transcripts` (transcript models of ALK, ROS1 and the bypass
genes), :mod:`.genome_pieces` (the shipped GRCh38 reference pieces),
:mod:`.shift3` (HGVS 3' rule), :mod:`.hgvs` (variant consequences and HGVS
names), :mod:`.mutation_names` (protein-change names), :mod:`.knowledge`
(cited resistance knowledge base), :mod:`.bypass` (what the knowledge base
says about off-target changes), :mod:`.ranking` (evidence-based inhibitor
ranking, decision support only) and :mod:`.cli` (``deepamp annotate``).
"""
