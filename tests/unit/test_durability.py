"""What an ack promises on a given Redis (chatserver/durability.py), without Redis."""

from __future__ import annotations

from chatserver.durability import decide

OLD, NEW = (6, 2, 14), (7, 2, 4)


def test_disk_with_fsync_always_needs_no_wait() -> None:
    p = decide("disk", OLD, "yes", "always")
    assert p.kept and p.effective == "disk" and not p.wait
    assert p.satisfied(None)


def test_disk_on_everysec_waits_with_waitaof_where_redis_has_it() -> None:
    p = decide("disk", NEW, "yes", "everysec", timeout_ms=500)
    assert p.kept and p.wait == ("WAITAOF", 1, 0, 500)
    assert p.satisfied([1, 0]) and not p.satisfied([0, 0])


def test_disk_that_cannot_be_kept_is_not_pretended() -> None:
    for appendonly, fsync in (("yes", "everysec"), ("no", "everysec"), (None, None)):
        p = decide("disk", OLD, appendonly, fsync)
        assert not p.kept and p.effective == "memory" and not p.wait
        assert "appendfsync always" in p.advice and "CHATSERVER_DURABILITY=memory" in p.advice
    # CONFIG refused but WAITAOF there: wait for it.
    assert decide("disk", NEW, None, None).wait[0] == "WAITAOF"
    # No append-only file: WAITAOF would fail, so nothing can give disk.
    assert not decide("disk", NEW, "no", "everysec").kept


def test_replica_waits_for_that_many_replicas() -> None:
    p = decide("replica", OLD, "yes", "everysec", min_replicas=2, timeout_ms=300)
    assert p.kept and p.wait == ("WAIT", 2, 300)
    assert p.satisfied(2) and p.satisfied(3) and not p.satisfied(1)


def test_memory_says_what_it_means() -> None:
    p = decide("memory", OLD, "yes", "everysec")
    assert p.kept and not p.wait and "everysec" in p.means
    assert "memory only" in decide("memory", OLD, "no", "everysec").means
    assert p.summary() == {"mode": "memory", "requested": "memory", "ack_means": p.means}
