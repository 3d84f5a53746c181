"""Parloir's benchmark: how many recorded calls one small server carries (issue 7).

``python -m bench run --calls 1,5,10,20 --seconds 30`` (see ``bench/run.py`` and the README).
"""
