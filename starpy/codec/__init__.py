"""Sans-IO codecs for Asterisk's wire formats.

Bytes in, values out, and the reverse.  Nothing here knows about Twisted,
sockets or logging: :mod:`starpy.codec.ami` frames and builds AMI messages,
:mod:`starpy.codec.agi` reads AGI environment blocks and result lines and
quotes AGI arguments.
"""
