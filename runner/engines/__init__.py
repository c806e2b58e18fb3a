"""Engines: one module per database, behind one small interface (see base.py in part 2)."""
