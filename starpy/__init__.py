"""StarPy: Asterisk's AMI, FastAGI and AsyncAGI for Twisted.

Modules:

* :mod:`starpy.manager`: the AMI client (``AMIFactory(...).login(...)``).
* :mod:`starpy.fastagi`: the FastAGI server and ``InSequence``.
* :mod:`starpy.error`: the exceptions.
* :mod:`starpy.testing`: a fake Asterisk for tests (AMI server, AGI caller).
* :mod:`starpy.codec`: the sans-IO AMI and AGI codecs.
"""

__version__ = "2.0.0.dev0"
