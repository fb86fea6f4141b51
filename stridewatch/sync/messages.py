"""What `sync` tells the wearer when the sensor cannot be synced (one place for the wording)."""

from __future__ import annotations


class SyncRefused(Exception):
    """The sync stopped for a reason the wearer can act on; the message says what to do."""


BUSY = ("the sensor is busy recording (PSFTP error 202, SYSTEM_BUSY): stop the recording "
        "first with `stridewatch sync --stop`, then run `stridewatch sync` again")
FULL = ("the sensor's memory is full: run `stridewatch sync --delete` to download the "
        "recordings and free the memory, then start again")
NOT_BONDED = ("{device} refused the file transfer because it is not bonded: pair it in "
              "your system's Bluetooth settings, then run `stridewatch sync` again")
LINK_GAVE_UP = ("the link to the sensor was lost and did not come back: bring it closer and "
                "run `stridewatch sync` again; recordings already stored are kept and the "
                "rest stay on the sensor")
NO_DEVICE = ("no sensor chosen: pass --device NAME-OR-ADDRESS (the sensor you synced from "
             "last is remembered after the first sync)")
BOARD_BUSY = ("cannot connect to {device}: a MetaWear board takes one connection at a time; "
              "if the MetaBase app or another program is connected to it, disconnect it "
              "there (or bring the board closer), then run the command again")
NO_FREE_LOGGER = ("{device} has no free logger (its logger slots are taken, e.g. by another "
                  "app's logging): reset the board from that app or with MetaBase, then "
                  "`stridewatch sync --start` again; nothing logged so far was touched")
