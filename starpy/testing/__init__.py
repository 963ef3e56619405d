"""A fake Asterisk for tests: StarPy's own and its users'.

It plays Asterisk's side of each wire, byte for byte as a real Asterisk 22
does (see ``tests/fixtures``).
"""
