"""Every SQL statement about consumer groups the API makes: reading the lag history (the
actions and the Operations are written through the Unit)."""

from __future__ import annotations

import uuid
from datetime import datetime

from app.core.pools import Connection

# Newest first with a limit, so a window longer than the retention still costs one index range.
_LAG_HISTORY = (
    "SELECT time, total_lag, max_lag FROM consumer_group_lag_samples "
    "WHERE cluster_uid = $1 AND group_id = $2 AND time >= $3 ORDER BY time DESC LIMIT $4"
)


async def lag_history(
    connection: Connection, cluster_uid: uuid.UUID, group_id: str, since: datetime, most: int
) -> list[tuple[datetime, int, int]]:
    """(time, total_lag, max_lag) of the group since `since`, the latest `most`, oldest first."""
    records = await connection.fetch(_LAG_HISTORY, cluster_uid, group_id, since, most)
    return [(r["time"], r["total_lag"], r["max_lag"]) for r in reversed(records)]
