"""Recorder: muxes the relay's encoded packets into WebM files (issue 5; not built yet).

The relay (`gateway.media.relay`) already hands the same encoded packets to any number of
consumers; the recorder will be one more consumer. Nothing here runs yet.
"""
