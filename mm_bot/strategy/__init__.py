"""Pure strategy math: quote models (A-S, GLFT), online estimators, and the backend-generic quote pipeline.

No IO, clocks or logging here; see ``quote`` for the pipeline and its invariants, ``numeric`` for the
float/Z3 backend contract.
"""
