"""Recordings made on the sensor and downloaded afterwards, one module per protocol.

Bytes and GATT only, no analysis: ``psftp`` (Polar file transfer framing),
``pftp_messages`` (its protobuf messages), ``psftp_client`` (requests over bleak),
``polar_rec`` (the ``.REC`` file layout), ``polar_offline`` (Verity Sense offline ACC:
start/stop, list, read, remove) and ``offline_trace`` (a download kept as a ``.swtrace``).
"""
