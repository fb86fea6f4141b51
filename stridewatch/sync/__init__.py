"""`stridewatch sync`: recordings made on the sensor, downloaded after the walk.

``polar`` syncs a Verity Sense (list, download, verify, store, delete); ``messages`` holds
the wording for a sensor that is busy, full, not bonded or out of reach; ``progress``
the download progress line. The ledger is ``stridewatch.store.synced_recordings``.
"""
