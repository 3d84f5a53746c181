"""The one place Redis clients are made: from ``redis_url``, or through Redis Sentinel.

With ``redis_sentinels`` set, every client is redis-py's Sentinel client (``master_for``): each
new connection asks the sentinels where the master is, so after a failover the next connection
goes to the new master. What makes that happen, and what this module adds to it:

* **connections to a dead master** fail (reset, or the connect timeout below): the command
  is retried with a backoff (:data:`RETRY`), long enough to cover Sentinel's
  ``down-after-milliseconds`` plus the election. redis-py reconnects a lost connection to the
  address it had (only a fresh one from the pool asks the sentinels): :class:`MasterConnection`
  asks them at every connect, so the retries of a command under way reach the new master
  rather than knocking on the dead one's port until they run out (tested: 99 s stuck without);
* **a master that moved while the old one is alive** (a manual failover, a partition that
  healed): Sentinel makes the old one a replica only some seconds later (it waits 8 s before
  reconfiguring an instance that still says it is a master), and until then connections
  already open to it would go on writing there, writes lost when it is demoted.
  :func:`follow_master`, called at every heartbeat, asks the sentinels and drops this client's
  connections to a master that moved, subscriptions included. Once demoted, it answers writes
  with ``READONLY``: redis-py's ``SentinelManagedConnection`` turns that into a dropped
  connection and a ``ConnectionError``, retried like the above (Sentinel also kills the
  clients of the instance it reconfigures);
* **pub/sub** (the cluster channel, the SMS status feed) runs on a small pool of its own
  (:func:`subscriber_client`), Sentinel-managed too: its readers' retry loops subscribe again
  and land on the new master;
* **a bounded, blocking pool** for the main client, as with a URL (redis-py's default pool
  raises "Too many connections" past its size instead of waiting).

Money across a failover is the ledger's business (``Ledger(replicas=...)``, ``WAIT``): see the
README's "Redis failover".
"""

from __future__ import annotations

import weakref
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import BlockingConnectionPool, ConnectionPool
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError, TimeoutError

from gateway.config import GatewayConfig, sentinel_addresses

POOL_TIMEOUT = 20
"Seconds a request waits for a free connection of the main pool."
CONNECT_TIMEOUT = 2.0
"""A master that does not accept a connection within this is taken for dead (a power cut sends
no reset: without it a connect would hang for the kernel's minutes)."""
SENTINEL_TIMEOUT = 1.0
"Each sentinel must answer within this; an unanswering one is skipped for the next."
RETRY = Retry(ExponentialWithJitterBackoff(base=0.1, cap=1.0), 12,
              supported_errors=(ConnectionError, TimeoutError, OSError))  # fmt: skip
"About 10 s of retries: covers a failover with down-after-milliseconds up to ~5 s."


class MasterConnection(SentinelManagedConnection):
    """A Sentinel-managed connection that asks where the master is at every (re)connect."""

    async def _connect(self) -> None:
        if self.connection_pool.is_master:
            self.host, self.port = await self.connection_pool.get_master_address()
        await super()._connect()


class BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """Sentinel's master-following pool that waits for a free connection rather than fail.

    When the master moves, redis-py drops the idle connections to the old one, not those in
    use at that moment: they would go back to the pool still talking to the old master (alive
    and taking writes until Sentinel demotes it, seconds later). Here one is dropped as it is
    released, and connects to the new master when next used."""

    async def release(self, connection: Any) -> None:
        master = self.master_address
        if self.is_master and master is not None and (connection.host, connection.port) != master:
            await connection.disconnect()
        await super().release(connection)


def uses_sentinel(config: GatewayConfig) -> bool:
    return bool(config.redis_sentinels)


def has_redis(config: GatewayConfig) -> bool:
    """An external Redis is configured (a URL or sentinels), as the CLI's tools need."""
    return bool(config.redis_url or config.redis_sentinels)


def connect(
    config: GatewayConfig,
    url: str = "",
    *,
    decode_responses: bool = True,
    max_connections: int | None = None,
) -> aioredis.Redis:
    """A client of the configured Redis: the master through Sentinel when sentinels are set,
    else ``url`` (default ``redis_url``). ``max_connections``: a bounded pool whose requests
    wait for a free connection (the gateway's); ``None``: redis-py's default pool (tools)."""
    if uses_sentinel(config):
        sentinel = Sentinel(
            sentinel_addresses(config.redis_sentinels),
            sentinel_kwargs={
                "password": config.redis_sentinel_password or None,
                "socket_timeout": SENTINEL_TIMEOUT,
                "socket_connect_timeout": SENTINEL_TIMEOUT,
            },
        )
        options: dict[str, Any] = {
            "password": config.redis_password or None,
            "decode_responses": decode_responses,
            "socket_connect_timeout": CONNECT_TIMEOUT,
            "socket_keepalive": True,
            "retry": RETRY,
            "connection_class": MasterConnection,
        }
        if max_connections is None:
            return sentinel.master_for(config.redis_sentinel_master, **options)
        return sentinel.master_for(
            config.redis_sentinel_master,
            connection_pool_class=BlockingSentinelPool,
            max_connections=max_connections,
            timeout=POOL_TIMEOUT,
            **options,
        )
    target = url or config.redis_url
    if max_connections is None:
        return aioredis.from_url(target, decode_responses=decode_responses)
    pool = BlockingConnectionPool.from_url(
        target, decode_responses=decode_responses, max_connections=max_connections,
        timeout=POOL_TIMEOUT,
    )  # fmt: skip
    return aioredis.Redis.from_pool(pool)


def subscriber_client(redis: aioredis.Redis) -> aioredis.Redis:
    """A client on a small pool of its own, for a subscription: a subscribed connection is held
    for good and must not be one of the shared, bounded pool's. Same server, or same Sentinel
    master, as ``redis``."""
    shared = redis.connection_pool
    kwargs = {k: v for k, v in shared.connection_kwargs.items() if k != "connection_pool"}
    pool: ConnectionPool
    if isinstance(shared, SentinelConnectionPool):
        pool = BlockingSentinelPool(
            shared.service_name, shared.sentinel_manager, max_connections=2,
            connection_class=shared.connection_class, **kwargs,
        )  # fmt: skip
        _SUBSCRIBERS.setdefault(shared, weakref.WeakSet()).add(pool)
    else:
        pool = type(shared)(connection_class=shared.connection_class, max_connections=2, **kwargs)
    return aioredis.Redis(connection_pool=pool)


_SUBSCRIBERS: weakref.WeakKeyDictionary[
    SentinelConnectionPool, weakref.WeakSet[SentinelConnectionPool]
] = weakref.WeakKeyDictionary()
"The subscribers' pools made from each main pool: :func:`follow_master` moves them too."


async def follow_master(redis: aioredis.Redis) -> bool:
    """Under Sentinel: ask where the master is; if it moved, drop ``redis``'s connections to the
    old one (idle ones now, busy ones as they are released) and its subscribers' (their
    readers subscribe again, on the new master). True when it moved. A sentinel that does not
    answer changes nothing here (the next beat asks again): the heartbeat must not depend on
    the sentinels, only on the master."""
    pool = redis.connection_pool
    if not isinstance(pool, SentinelConnectionPool):
        return False
    before = pool.master_address
    try:
        now = await pool.get_master_address()  # drops the idle connections when it moved
    except (ConnectionError, TimeoutError):
        return False
    moved = before is not None and now != before
    for subscriber in list(_SUBSCRIBERS.get(pool, ())):
        # Its master_address is where its subscription connected (it connects rarely).
        if subscriber.master_address is not None and subscriber.master_address != now:
            await subscriber.disconnect()  # in use too: that is the subscription's connection
            moved = True
    return moved


async def close(redis: aioredis.Redis) -> None:
    """Close a client and, for a Sentinel one, its sentinels' connections too."""
    pool = redis.connection_pool
    await redis.aclose()
    if isinstance(pool, SentinelConnectionPool):
        await pool.sentinel_manager.aclose()
