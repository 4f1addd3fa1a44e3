"""Podium media: everything that touches RTP and frames (media node, MCU, recording, streaming).

Core talks to media only through its documented control interface, so a media
node can run in another process or on another machine.
"""
