"""Pingan Grid domain and storage package (PostGIS-backed).

Never imports Flask or :mod:`webmap`; the web app calls into this package.
"""
