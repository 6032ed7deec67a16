"""What ``tradeflood bus status`` shows: agents and their members, leases, topics and their lag."""

from __future__ import annotations

import time
from typing import Any

import orjson

from ._errors import BusConfigError
from ._keys import Topic

__all__ = ["bus_status", "format_status"]


async def bus_status(redis: Any) -> dict[str, Any]:
    """Agents (configuration state, members and their topics), leases, topics (length, lag, groups)."""
    now = int(time.time() * 1000)
    agents: dict[str, Any] = {}
    async for key in redis.scan_iter(match="stream.status.*", count=1000):
        fields = await redis.hgetall(key)
        members = {k[7:]: orjson.loads(v) for k, v in fields.items() if k.startswith("member.")}
        live = set(await redis.zrangebyscore(f"stream.members.{key[14:]}", now, "+inf"))
        agents[key[14:]] = {
            "config": fields.get("config", "none"), "config_error": fields.get("config_error", ""),
            "members": {m: {**state, "alive": m in live} for m, state in members.items()}}
    leases: dict[str, Any] = {}
    async for key in redis.scan_iter(match="stream.lease.*", count=1000):
        value, ttl = await redis.get(key), await redis.pttl(key)
        if value is not None:
            token, _, member = value.partition(":")
            leases["stream." + key[13:]] = {"member": member, "token": int(token), "expires_in_ms": ttl}
    topics: dict[str, Any] = {}
    async for key in redis.scan_iter(match="stream.*", _type="stream", count=1000):
        try:
            Topic.parse(key)
        except BusConfigError:
            continue
        tail = await redis.xrevrange(key, count=1)
        last_pub = int(tail[0][1].get("pub_ts", 0)) if tail else 0
        groups = {g["name"]: {"pending": g["pending"], "lag": g.get("lag")}
                  for g in await redis.xinfo_groups(key)}
        topics[key] = {"length": await redis.xlen(key), "last_id": tail[0][0] if tail else None,
                       "since_last_ms": now - last_pub if last_pub else None, "owner": leases.get(key),
                       "groups": groups}
    return {"agents": agents, "leases": leases, "topics": topics}


def format_status(status: dict[str, Any]) -> str:
    """The status as a few readable lines."""
    lines = []
    for agent, info in sorted(status["agents"].items()):
        err = f" ({info['config_error']})" if info["config_error"] else ""
        lines.append(f"agent {agent}: configuration {info['config']}{err}")
        for member, state in sorted(info["members"].items()):
            flag = "alive" if state["alive"] else "gone"
            lines.append(f"  {member} [{flag}] {len(state.get('topics', []))} topics, "
                         f"{state.get('published', 0)} published, "
                         f"{state.get('redis_outages', 0)} Redis outages")
    for key, topic in sorted(status["topics"].items()):
        owner = topic["owner"]
        who = f"{owner['member']} (token {owner['token']})" if owner else "no owner"
        since = topic["since_last_ms"]
        lag = "" if since is None else f", last entry {since} ms ago"
        groups = "".join(f", group {g}: {v['pending']} pending, lag {v['lag']}"
                         for g, v in topic["groups"].items())
        lines.append(f"{key}: {topic['length']} entries, {who}{lag}{groups}")
    return "\n".join(lines) if lines else "nothing on the bus"
