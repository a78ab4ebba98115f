"""Topic configuration of every table's changelog (Faust applies it when it creates the topic).

Kafka compacts only closed segments, and a segment closes at 1 GiB by default: a changelog that gets
one whole value per update (the register entry per check, the seller statistics per activity) was then
never compacted, and a starting worker read every update back. Small segments and an eager cleaner leave
about one value per key (+ the open segment) to read. On an existing topic set the same with
`kafka-configs.sh --alter --entity-type topics --entity-name <app id>-<table>-changelog --add-config …`.
"""

from __future__ import annotations

COMPACTED_CHANGELOG: dict[str, int | float] = {"segment.bytes": 8 * 2**20, "min.cleanable.dirty.ratio": 0.1}
