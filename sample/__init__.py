"""The bundled sample log (`requests.csv.gz`); installed as the package data `pipeline.sample`.

Made by `scripts/make_sample.py` from a fixed seed.
"""
