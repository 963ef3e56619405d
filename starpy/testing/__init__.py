"""A fake Asterisk for tests: StarPy's own and its users'.

It plays Asterisk's side of each wire, byte for byte as a real Asterisk 22
does (see ``tests/fixtures``):

- :mod:`starpy.testing.ami`: the fake AMI server;
- :mod:`starpy.testing.agi`: the fake Asterisk placing FastAGI calls;
- :mod:`starpy.testing.asyncagi`: AsyncAGI on the fake AMI server;
- :mod:`starpy.testing.replay`: captured AMI sessions played back;
- :mod:`starpy.testing.memory`: the one in-memory connection all of them
  (and StarPy's tests) connect through;
- :mod:`starpy.testing.pytest_plugin`: fixtures and the guard that fails a
  test on a logged error.
"""
